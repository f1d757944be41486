"""The widget chat API (team host), mounted at ``/api/chat/`` and ``/api/v1/chat/``. Trailing slashes required."""

from django.urls import path

from tenant_apps.channels import widget_api

urlpatterns = [
    path("start/", widget_api.chat_start_api, name="start"),
    path("<uuid:session_id>/message/", widget_api.chat_message_api, name="message"),
    path("<uuid:session_id>/poll/", widget_api.chat_poll_api, name="poll"),
    path("<uuid:session_id>/upload/", widget_api.chat_upload_api, name="upload"),
    path("<uuid:session_id>/<str:task_id>/poll/", widget_api.chat_task_poll_api, name="task_poll"),
]

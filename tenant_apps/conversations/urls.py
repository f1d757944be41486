from django.urls import path

from tenant_apps.conversations import editor_views, views

app_name = "conversations"

urlpatterns = [
    path("chatbots/<int:chatbot_id>/chat/", views.chat_start_view, name="chat_start"),
    path("chatbots/<int:chatbot_id>/pipeline/test/", editor_views.pipeline_test_send_view, name="pipeline_test_send"),
    path(
        "chatbots/<int:chatbot_id>/pipeline/test/<uuid:session_id>/messages/<int:message_id>/",
        editor_views.pipeline_test_reply_view,
        name="pipeline_test_reply",
    ),
    path("chat/<uuid:session_id>/", views.chat_view, name="chat"),
    path("chat/<uuid:session_id>/send/", views.chat_send_view, name="chat_send"),
    path("chat/<uuid:session_id>/messages/<int:message_id>/reply/", views.chat_reply_view, name="chat_reply"),
    path("chat/<uuid:session_id>/consent/", views.chat_consent_view, name="chat_consent"),
    path("chat/<uuid:session_id>/new/", views.chat_new_view, name="chat_new"),
    path("traces/<int:trace_id>/", views.trace_view, name="trace_detail"),
    path("c/<uuid:public_id>/", views.public_chat_view, name="public_chat"),
    path("c/<uuid:public_id>/s/<uuid:session_id>/send/", views.public_send_view, name="public_send"),
    path(
        "c/<uuid:public_id>/s/<uuid:session_id>/messages/<int:message_id>/reply/",
        views.public_reply_view,
        name="public_reply",
    ),
    path("c/<uuid:public_id>/s/<uuid:session_id>/consent/", views.public_consent_view, name="public_consent"),
    path("c/<uuid:public_id>/s/<uuid:session_id>/files/<int:file_id>/", views.public_file_view, name="public_file"),
    path("sessions/", views.session_list_view, name="session_list"),
    path("sessions/export/", views.export_create_view, name="export_create"),
    path("sessions/exports/<int:session_export_id>/", views.export_detail_view, name="export_detail"),
    path("sessions/exports/<int:session_export_id>/download/", views.export_download_view, name="export_download"),
    path("sessions/<uuid:session_id>/", views.session_detail_view, name="session_detail"),
    path("sessions/<uuid:session_id>/end/", views.session_end_view, name="session_end"),
    path("sessions/<uuid:session_id>/files/<int:file_id>/", views.session_file_view, name="session_file"),
    path("sessions/<uuid:session_id>/messages/<int:message_id>/tags/", views.message_tag_view, name="message_tag"),
    path(
        "sessions/<uuid:session_id>/messages/<int:message_id>/tags/<int:tag_id>/remove/",
        views.message_untag_view,
        name="message_untag",
    ),
    path(
        "sessions/<uuid:session_id>/messages/<int:message_id>/comments/",
        views.message_comment_view,
        name="message_comment",
    ),
]

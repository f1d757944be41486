from django.urls import path

from tenant_apps.events import views

app_name = "events"

urlpatterns = [
    path("chatbots/<int:chatbot_id>/events/", views.event_list_view, name="event_list"),
    path("chatbots/<int:chatbot_id>/events/new/", views.static_trigger_edit_view, name="static_trigger_create"),
    path(
        "chatbots/<int:chatbot_id>/events/<int:trigger_id>/", views.static_trigger_edit_view, name="static_trigger_edit"
    ),
    path(
        "chatbots/<int:chatbot_id>/events/<int:trigger_id>/delete/",
        views.static_trigger_delete_view,
        name="static_trigger_delete",
    ),
    path("chatbots/<int:chatbot_id>/timeouts/new/", views.timeout_trigger_edit_view, name="timeout_trigger_create"),
    path(
        "chatbots/<int:chatbot_id>/timeouts/<int:trigger_id>/",
        views.timeout_trigger_edit_view,
        name="timeout_trigger_edit",
    ),
    path(
        "chatbots/<int:chatbot_id>/timeouts/<int:trigger_id>/delete/",
        views.timeout_trigger_delete_view,
        name="timeout_trigger_delete",
    ),
    path("chatbots/<int:chatbot_id>/broadcasts/", views.broadcast_list_view, name="broadcast_list"),
    path(
        "chatbots/<int:chatbot_id>/broadcasts/<int:broadcast_id>/",
        views.broadcast_detail_view,
        name="broadcast_detail",
    ),
    path("participants/<int:participant_id>/", views.participant_detail_view, name="participant_detail"),
    path(
        "participants/<int:participant_id>/scheduled/<uuid:scheduled_id>/cancel/",
        views.scheduled_cancel_view,
        name="scheduled_cancel",
    ),
]

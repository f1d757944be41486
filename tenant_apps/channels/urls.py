from django.urls import path

from tenant_apps.channels import views

app_name = "channels"

urlpatterns = [
    path("<int:chatbot_id>/channels/", views.channel_list_view, name="channel_list"),
    path("<int:chatbot_id>/channels/<int:channel_id>/", views.channel_detail_view, name="channel_detail"),
    path("<int:chatbot_id>/channels/<int:channel_id>/toggle/", views.channel_toggle_view, name="channel_toggle"),
    path("<int:chatbot_id>/channels/<int:channel_id>/rotate/", views.channel_rotate_view, name="channel_rotate"),
    path("<int:chatbot_id>/channels/<int:channel_id>/delete/", views.channel_delete_view, name="channel_delete"),
    path("<int:chatbot_id>/channels/<int:channel_id>/test/", views.channel_test_view, name="channel_test"),
]

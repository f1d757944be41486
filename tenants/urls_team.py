"""Team-host URLs of the tenancy core (namespace ``team``): members, invitations, team settings."""

from django.urls import path

from tenants import views

app_name = "team"

urlpatterns = [
    path("members/", views.member_list_view, name="member_list"),
    path("members/leave/", views.member_leave_view, name="member_leave"),
    path("members/<int:membership_id>/role/", views.member_role_view, name="member_role"),
    path("members/<int:membership_id>/remove/", views.member_remove_view, name="member_remove"),
    path("members/invitations/", views.invitation_list_view, name="invitation_list"),
    path("members/invitations/<int:invitation_id>/resend/", views.invitation_resend_view, name="invitation_resend"),
    path("members/invitations/<int:invitation_id>/revoke/", views.invitation_revoke_view, name="invitation_revoke"),
    path("settings/", views.team_settings_view, name="settings"),
    path("settings/rename/", views.team_rename_view, name="rename"),
    path("settings/delete/", views.team_delete_view, name="delete"),
    path("settings/exports/", views.team_export_create_view, name="export_create"),
    path("settings/exports/<int:export_id>/", views.team_export_status_view, name="export_status"),
    path("settings/exports/<int:export_id>/download/", views.team_export_download_view, name="export_download"),
]

"""The staff console on the apex: /console/ (config/urls_public.py)."""

from django.urls import path

from shared_apps.console import views

app_name = "console"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("teams/", views.team_list_view, name="team_list"),
    path("teams/<int:team_id>/", views.team_detail_view, name="team_detail"),
    path("teams/<int:team_id>/suspend/", views.team_suspend_view, name="team_suspend"),
    path("teams/<int:team_id>/unsuspend/", views.team_unsuspend_view, name="team_unsuspend"),
    path("teams/<int:team_id>/plan/", views.team_plan_view, name="team_plan"),
    path("teams/<int:team_id>/flags/", views.team_flag_view, name="team_flag"),
    path("teams/<int:team_id>/visit/", views.impersonation_start_view, name="visit_start"),
    path("visits/<int:visit_id>/end/", views.impersonation_end_view, name="visit_end"),
    path("health/", views.health_view, name="health"),
    path("health/migrations/", views.migrations_check_view, name="migrations_check"),
    path("audit/", views.audit_view, name="audit"),
    path("catalog/", views.catalog_view, name="catalog"),
    path("catalog/<int:model_id>/", views.catalog_model_view, name="catalog_model"),
]

"""A staff member's read-only visit on a team host (see shared_apps/console/impersonation.py)."""

from django.urls import path

from shared_apps.console import views

app_name = "staff_visit"

urlpatterns = [
    path("staff-visit/enter/", views.visit_enter_view, name="enter"),
    path("staff-visit/end/", views.visit_end_view, name="end"),
]

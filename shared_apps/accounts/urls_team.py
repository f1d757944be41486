from django.urls import path

from shared_apps.accounts import views

app_name = "team_auth"

urlpatterns = [
    path("auth/handoff/", views.handoff_view, name="handoff"),
    path("auth/logout/", views.team_logout_view, name="logout"),
]

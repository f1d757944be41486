from django.urls import path

from shared_apps.accounts import views

app_name = "accounts"

urlpatterns = [
    path("app/", views.home_view, name="home"),
    path("app/teams/", views.team_list_view, name="team_list"),
    path("app/teams/new/", views.team_create_view, name="team_create"),
    path("app/setup/<slug:slug>/", views.team_setup_view, name="team_setup"),
    path("app/setup/<slug:slug>/status/", views.team_setup_status_view, name="team_setup_status"),
    path("app/setup/<slug:slug>/retry/", views.team_setup_retry_view, name="team_setup_retry"),
    path("go/<slug:slug>/", views.team_go_view, name="team_go"),
    path("signup/subdomain/", views.subdomain_check_view, name="subdomain_check"),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
]

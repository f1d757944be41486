from django.urls import path

from shared_apps.accounts import views

app_name = "accounts"

urlpatterns = [
    path("app/", views.home_view, name="home"),
    path("go/<slug:slug>/", views.team_go_view, name="team_go"),
]

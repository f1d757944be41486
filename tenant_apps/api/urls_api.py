from django.urls import path

from tenant_apps.api import api

app_name = "api_v1"

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="me"),
]

from django.urls import path

from tenant_apps.api import views

app_name = "api_keys"

urlpatterns = [
    path("", views.api_key_list_view, name="list"),
    path("<int:key_id>/revoke/", views.api_key_revoke_view, name="revoke"),
]

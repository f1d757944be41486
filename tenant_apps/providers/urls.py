from django.urls import path

from tenant_apps.providers import views

app_name = "providers"

urlpatterns = [
    path("", views.provider_list_view, name="provider_list"),
    path("llm/options/", views.llm_options_view, name="llm_options"),
    path("local-model/status/", views.local_model_status_view, name="local_model_status"),
    path("llm/<int:pk>/models/", views.llm_model_add_view, name="llm_model_add"),
    path("llm/<int:pk>/models/<int:model_pk>/delete/", views.llm_model_delete_view, name="llm_model_delete"),
    path("<slug:kind>/new/", views.provider_create_view, name="provider_create"),
    path("<slug:kind>/<int:pk>/", views.provider_detail_view, name="provider_detail"),
    path("<slug:kind>/<int:pk>/replace/", views.provider_replace_view, name="provider_replace"),
    path("<slug:kind>/<int:pk>/rename/", views.provider_rename_view, name="provider_rename"),
    path("<slug:kind>/<int:pk>/delete/", views.provider_delete_view, name="provider_delete"),
    path("<slug:kind>/<int:pk>/test/", views.provider_test_view, name="provider_test"),
]

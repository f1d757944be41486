"""``/api/schema/``: the OpenAPI document, Swagger UI and Redoc (open: they describe the API, not the team)."""

from django.urls import path

from tenant_apps.api import schema

app_name = "api_schema"

urlpatterns = [
    path("", schema.SchemaApi.as_view(), name="schema"),
    path("swagger/", schema.SwaggerUiView.as_view(url_name="api_schema:schema"), name="swagger"),
    path("redoc/", schema.RedocView.as_view(url_name="api_schema:schema"), name="redoc"),
]

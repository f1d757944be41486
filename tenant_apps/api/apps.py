from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "tenant_apps.api"
    label = "api"
    verbose_name = "Management API"

    def ready(self) -> None:
        from tenant_apps.api import openapi  # noqa: F401  (registers the API key scheme with drf-spectacular)

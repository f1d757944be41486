from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "tenant_apps.providers"
    label = "providers"
    verbose_name = "Service providers"

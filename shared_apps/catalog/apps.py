from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "shared_apps.catalog"
    label = "catalog"
    verbose_name = "LLM catalog"

from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "tenant_apps.pipelines"
    label = "pipelines"
    verbose_name = "Pipelines"

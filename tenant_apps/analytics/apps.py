from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """Read-only views across the team's apps: today the team's home page (the week in numbers, getting started,
    the latest sessions). No models of its own."""

    name = "tenant_apps.analytics"
    label = "analytics"
    verbose_name = "Analytics"

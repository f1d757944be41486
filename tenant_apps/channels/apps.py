from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "tenant_apps.channels"
    label = "channels"
    verbose_name = "Channels"

    def ready(self) -> None:
        from tenant_apps.channels import platforms, senders

        platforms.load()
        senders.register_all()

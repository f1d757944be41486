"""Global webhooks of messaging platforms on the apex (``/webhooks/``): one endpoint per platform, routed to the
team and channel through the public ``ChannelRoute`` table (``channels.inbound.routed_channel``)."""

from django.urls import path  # noqa: F401  (each platform adds its path)

app_name = "channels_global"

urlpatterns: list = []

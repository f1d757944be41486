"""Global webhooks of messaging platforms on the apex (``/webhooks/``): one endpoint per platform, routed to the
team and channel through the public ``ChannelRoute`` table (``channels.inbound.routed_channel``)."""

from django.urls import path

from tenant_apps.channels.platforms import slack_events
from tenant_apps.channels.platforms.meta import webhooks as meta_webhooks

app_name = "channels_global"

urlpatterns: list = [
    path("meta/whatsapp/", meta_webhooks.whatsapp_webhook_view, name="meta_whatsapp"),
    path("meta/messenger/", meta_webhooks.messenger_webhook_view, name="meta_messenger"),
    path("slack/events/", slack_events.slack_events_view, name="slack_events"),
]

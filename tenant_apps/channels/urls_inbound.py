"""Inbound endpoints of channels on the team host (``/api/channels/``): custom API channels, Telegram and
Twilio webhooks."""

from django.urls import path

from tenant_apps.channels import custom_api
from tenant_apps.channels.platforms import telegram, twilio_webhooks

app_name = "channels_inbound"

urlpatterns = [
    path("<uuid:channel_public_id>/messages/", custom_api.custom_api_message_api, name="custom_api_message"),
    path("<uuid:channel_public_id>/telegram/", telegram.telegram_webhook_view, name="telegram_webhook"),
    path("<uuid:channel_public_id>/twilio/", twilio_webhooks.twilio_message_webhook, name="twilio_message"),
    path("<uuid:channel_public_id>/twilio/status/", twilio_webhooks.twilio_status_webhook, name="twilio_status"),
]

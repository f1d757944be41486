from django.db import models


class ChannelKind(models.TextChoices):
    WIDGET = "widget", "Embedded widget"
    CUSTOM_API = "custom_api", "Custom API"
    TELEGRAM = "telegram", "Telegram"
    TWILIO_WHATSAPP = "twilio_whatsapp", "WhatsApp (Twilio)"
    TWILIO_SMS = "twilio_sms", "SMS (Twilio)"
    META_WHATSAPP = "meta_whatsapp", "WhatsApp (Meta Cloud API)"
    MESSENGER = "messenger", "Facebook Messenger"
    SLACK = "slack", "Slack"


class WidgetAuthLevel(models.IntegerChoices):
    """What a widget session call must carry after ``/start/`` (as Open Chat Studio's levels; real-clients §1.5).
    The npm widget 0.6.0 never sends a session token, so it works at EMBED_KEY or NONE only."""

    NONE = 0, "None (anyone on an allowed site, key optional)"
    EMBED_KEY = 1, "Embed key and allowed site on every call (widget 0.6.0 and newer)"
    SESSION_TOKEN = 2, "Session token on every call (widget 0.9.0 and newer)"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Sending"
    RETRYING = "retrying", "Retrying"
    SENT = "sent", "Delivered"
    FAILED = "failed", "Failed"

from django.db import models


class ProviderKind(models.TextChoices):
    """What a provider is for. Each kind has its own table (``models.KIND_MODELS``) and type specs (``specs``).

    Voice and tracing are declared so URLs, audit actions and the registry already have their names; they get a
    table and types when the voice and tracing features land (see ADR 0022).
    """

    LLM = "llm", "LLM"
    MESSAGING = "messaging", "Messaging"
    VOICE = "voice", "Voice"
    TRACING = "tracing", "Tracing"


class MessagingType(models.TextChoices):
    TWILIO = "twilio", "Twilio (WhatsApp, SMS)"
    TELEGRAM = "telegram", "Telegram"
    META_CLOUD_API = "meta_cloud_api", "Meta (WhatsApp Cloud API)"
    SLACK = "slack", "Slack"

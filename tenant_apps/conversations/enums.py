from django.db import models


class Platform(models.TextChoices):
    WEB = "web", "Web chat"
    PUBLIC_LINK = "public_link", "Public link"
    WIDGET = "widget", "Embedded widget"
    API = "api", "API"
    TELEGRAM = "telegram", "Telegram"
    WHATSAPP = "whatsapp", "WhatsApp"
    MESSENGER = "messenger", "Messenger"
    SLACK = "slack", "Slack"
    SMS = "sms", "SMS"


class SessionStatus(models.TextChoices):
    PENDING_CONSENT = "pending_consent", "Waiting for consent"
    ACTIVE = "active", "Active"
    ENDED = "ended", "Ended"


class MessageRole(models.TextChoices):
    USER = "user", "Participant"
    ASSISTANT = "assistant", "Bot"
    SYSTEM = "system", "System"


class TurnStatus(models.TextChoices):
    """For participant messages: where the bot's answer to it stands."""

    NONE = "", "Not a turn"
    PENDING = "pending", "Waiting"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Answered"
    FAILED = "failed", "Failed"


class TraceStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    ERROR = "error", "Error"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"

"""Channels of a chatbot, the sessions they started and the deliveries of their replies (team schema).

Config that is not secret (allowed domains, auth level, callback URL) is plain JSON; signing secrets are sealed in
``secrets`` (``EncryptedJSONField``). The widget's embed key is not a secret (it sits in the embedding page's HTML)
but is checked on every call, so it is a plain indexed column; rotating it refuses the old one at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

from shared_apps.core.fields import EncryptedJSONField, user_reference
from tenant_apps.channels.enums import ChannelKind, DeliveryStatus, WidgetAuthLevel


class Channel(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    chatbot = models.ForeignKey("chatbots.Chatbot", on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    name = models.CharField(max_length=120)
    enabled = models.BooleanField(default=True)
    disabled_message = models.CharField(max_length=500, blank=True, default="This chat is not available right now.")
    config = models.JSONField(default=dict, blank=True)
    secrets = EncryptedJSONField()
    # The team's messaging provider whose credentials a platform channel uses (None for the widget and custom API).
    provider = models.ForeignKey(
        "providers.MessagingProvider", on_delete=models.PROTECT, null=True, blank=True, related_name="channels"
    )
    embed_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["chatbot_id", "name", "id"]

    def __str__(self) -> str:
        return self.name

    # ---- widget config, with the defaults a new channel gets
    @property
    def allowed_domains(self) -> list[str]:
        return list(self.config.get("allowed_domains") or [])

    @property
    def auth_level(self) -> int:
        return int(self.config.get("auth_level", WidgetAuthLevel.EMBED_KEY))

    # ---- custom API config
    @property
    def callback_url(self) -> str:
        return str(self.config.get("callback_url") or "")

    def config_value(self, name: str, default: Any = None) -> Any:
        return self.config.get(name, default)


class ChannelSession(models.Model):
    """Which channel a session came in through (the widget's session calls and the senders read it)."""

    session = models.OneToOneField(
        "conversations.ChatSession", primary_key=True, on_delete=models.CASCADE, related_name="channel_link"
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sessions")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"session {self.session_id} on channel {self.channel_id}"


class Delivery(models.Model):
    """One reply going out through its channel's sender: attempts, outcome and the last error (no secrets)."""

    message = models.OneToOneField("conversations.ChatMessage", on_delete=models.CASCADE, related_name="delivery")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["channel", "-created_at"], name="delivery_channel_created")]

    def __str__(self) -> str:
        return f"delivery of message {self.message_id} ({self.status})"

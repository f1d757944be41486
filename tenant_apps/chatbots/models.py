"""Chatbots, their immutable versions, and consent forms (team schema).

A chatbot's working copy (settings on ``Chatbot`` + its ``pipeline``) is what builders edit. ``ChatbotVersion``
rows are frozen snapshots: settings as JSON and a frozen copy of the pipeline. ``published_version`` is the one
version channels serve; a single pointer makes "exactly one published" true by construction. (ADR 0003)
"""

from __future__ import annotations

import uuid

from django.db import models

from shared_apps.core.fields import user_reference


class ConsentForm(models.Model):
    """Text a participant must accept before a session proceeds (markdown), reusable across chatbots."""

    name = models.CharField(max_length=120)
    consent_text = models.TextField(help_text="Markdown shown to the participant.")
    confirmation_text = models.CharField(
        max_length=60, default="1", help_text="What a participant types on text channels to agree."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ChatbotQuerySet(models.QuerySet["Chatbot"]):
    def active(self) -> ChatbotQuerySet:
        return self.filter(archived_at__isnull=True)


class Chatbot(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    pipeline = models.OneToOneField("pipelines.Pipeline", on_delete=models.PROTECT, related_name="chatbot")
    seed_message = models.TextField(
        blank=True, help_text="Sent to the bot when a session starts; its answer opens the conversation."
    )
    participant_allowlist = models.JSONField(
        default=list, blank=True, help_text="Identifiers (emails, phone numbers, ids) allowed to chat; empty = anyone."
    )
    consent_form = models.ForeignKey(
        ConsentForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="chatbots"
    )
    file_uploads_enabled = models.BooleanField(default=False)
    is_public = models.BooleanField(default=False, help_text="Anyone with the public link can chat (no account).")
    published_version = models.ForeignKey(
        "ChatbotVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChatbotQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ChatbotVersion(models.Model):
    """An immutable snapshot. Nothing updates a version after creation except its description."""

    chatbot = models.ForeignKey(Chatbot, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    description = models.CharField(max_length=500, blank=True)
    snapshot = models.JSONField()  # the frozen settings: see chatbots.versioning.SETTINGS_FIELDS
    pipeline = models.OneToOneField("pipelines.Pipeline", on_delete=models.PROTECT, related_name="chatbot_version")
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["chatbot", "number"], name="chatbot_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.chatbot.name} v{self.number}"

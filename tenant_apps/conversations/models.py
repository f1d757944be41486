"""Participants, sessions, messages, traces and per-node histories (team schema).

A participant message is persisted before anything acknowledges it; its ``reply`` (one-to-one) is the bot's
answer, so a turn delivered twice can never produce two replies. (ADR 0003)
"""

from __future__ import annotations

import uuid

from django.db import models

from shared_apps.core.fields import user_reference
from tenant_apps.conversations.enums import (
    ExportStatus,
    MessageRole,
    Platform,
    SessionStatus,
    TraceStatus,
    TurnStatus,
)


class Participant(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    identifier = models.CharField(max_length=255)  # email, phone number, platform user id, or "anon:<uuid>"
    name = models.CharField(max_length=255, blank=True)
    user = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["identifier"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "identifier"], name="participant_unique_platform_identifier")
        ]

    def __str__(self) -> str:
        return self.name or self.identifier


class ParticipantData(models.Model):
    """What pipelines remember about a participant, per chatbot (the ``participant_data`` scope)."""

    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="data_rows")
    chatbot = models.ForeignKey("chatbots.Chatbot", on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "chatbot"], name="participant_data_unique_chatbot")
        ]

    def __str__(self) -> str:
        return f"Data of participant {self.participant_id} for chatbot {self.chatbot_id}"


class ChatSession(models.Model):
    external_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    chatbot = models.ForeignKey("chatbots.Chatbot", on_delete=models.CASCADE, related_name="sessions")
    # None = the working copy (in-app chat only); channels always pin the version they started on.
    version = models.ForeignKey(
        "chatbots.ChatbotVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="sessions")
    platform = models.CharField(max_length=20, choices=Platform.choices)
    status = models.CharField(max_length=20, choices=SessionStatus.choices, default=SessionStatus.ACTIVE)
    state = models.JSONField(default=dict, blank=True)  # the ``session_state`` scope
    started_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_activity_at = models.DateTimeField(auto_now_add=True)
    consent_given_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["chatbot", "-created_at"], name="session_chatbot_created")]

    def __str__(self) -> str:
        return f"Session {self.external_id}"

    @property
    def is_ended(self) -> bool:
        return self.status == SessionStatus.ENDED


class Tag(models.Model):
    name = models.CharField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ChatMessage(models.Model):
    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=10, choices=MessageRole.choices)
    content = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    attachments = models.JSONField(default=list, blank=True)  # [{"name", "content_type", "size", "url"}]
    # The platform's id for an inbound message: a redelivery with the same id is the same message.
    external_id = models.CharField(max_length=255, null=True, blank=True)
    reply_to = models.OneToOneField("self", null=True, blank=True, on_delete=models.CASCADE, related_name="reply")
    turn_status = models.CharField(max_length=12, choices=TurnStatus.choices, default=TurnStatus.NONE, blank=True)
    turn_started_at = models.DateTimeField(null=True, blank=True)  # claimed or last renewed: the lease (ADR 0065)
    hidden = models.BooleanField(default=False)  # e.g. the seed message: sent to the bot, not shown
    summary = models.TextField(null=True, blank=True)  # history compression marker (global history)
    tags: models.ManyToManyField[Tag, MessageTag] = models.ManyToManyField(
        Tag, through="MessageTag", related_name="messages", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["session", "created_at"], name="message_session_created"),
            # Small: only turns still waiting or running (the sweep that re-enqueues stuck turns reads it).
            models.Index(
                fields=["turn_status", "created_at"],
                condition=models.Q(turn_status__in=[TurnStatus.PENDING, TurnStatus.PROCESSING]),
                name="message_open_turns",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="message_unique_external_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"


class MessageTag(models.Model):
    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "tag"], name="message_tag_unique")]

    def __str__(self) -> str:
        return f"tag {self.tag_id} on message {self.message_id}"


class MessageComment(models.Model):
    message = models.ForeignKey(ChatMessage, on_delete=models.CASCADE, related_name="comments")
    user = user_reference(blank=False)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class Trace(models.Model):
    """One turn: which nodes ran, how long, tokens and cost, and what failed."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="traces")
    message = models.OneToOneField(ChatMessage, on_delete=models.CASCADE, related_name="trace")  # the input
    status = models.CharField(max_length=10, choices=TraceStatus.choices)
    duration_ms = models.FloatField(default=0)
    node_path = models.JSONField(default=list)  # node ids in execution order
    nodes = models.JSONField(default=list)  # NodeTrace.as_dict() per node
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    error = models.TextField(blank=True)
    error_node_id = models.CharField(max_length=64, blank=True)
    version_number = models.PositiveIntegerField(null=True, blank=True)
    state_changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Trace {self.pk} ({self.status})"


class HistoryMessage(models.Model):
    """Per-node and named histories (the global history is the session's own messages)."""

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="+")
    mode = models.CharField(max_length=10)  # "node" | "named"
    name = models.CharField(max_length=120)  # node id or history name
    role = models.CharField(max_length=10)
    content = models.TextField()
    summary = models.TextField(null=True, blank=True)  # compression marker: summarises this entry and before
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["session", "mode", "name", "id"], name="history_lookup")]

    def __str__(self) -> str:
        return f"{self.mode}:{self.name} {self.role}"


def _chat_file_path(instance: ChatFile, filename: str) -> str:
    from shared_apps.core.db import connection

    # The schema name keeps teams' files apart on shared storage; the random part makes names unguessable.
    return f"chat-files/{connection.schema_name}/{instance.session.external_id}/{uuid.uuid4().hex}/{filename}"


class ChatFile(models.Model):
    """A file a participant sent with a message (when the chatbot allows uploads).

    Stored in the message's own transaction (``ingress``), or uploaded first and attached by the message that names
    it (the widget's upload, then ``attachment_ids``): ``message`` is empty only in between.
    """

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="files")
    message = models.ForeignKey(ChatMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="files")
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to=_chat_file_path, max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class SessionExport(models.Model):
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    filters = models.JSONField(default=dict)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    row_count = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_by = user_reference(blank=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.status})"

"""Triggers, their event log, timeout watches, scheduled messages and broadcasts (team schema).

Trigger rows are the chatbot's working copy; a version freezes them into its snapshot (``triggers.triggers_take``)
and only a session's version's frozen triggers fire (ADR 0140). Logs and watches name a trigger by its id, which a
version's copy keeps, so history survives edits and deletions.
"""

from __future__ import annotations

import uuid

from django.db import models

from shared_apps.core.fields import user_reference
from tenant_apps.events.enums import (
    ActionType,
    AttemptResult,
    BroadcastStatus,
    IntervalUnit,
    LogStatus,
    Origin,
    RecipientResult,
    ScheduleStatus,
    StaticEvent,
    TriggerKind,
)


class Trigger(models.Model):
    """What both kinds share: the chatbot, a name, on/off, and the action with its parameters."""

    chatbot = models.ForeignKey("chatbots.Chatbot", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=120)
    is_active = models.BooleanField(default=True)
    action = models.CharField(max_length=30, choices=ActionType.choices)
    params = models.JSONField(default=dict, blank=True)  # checked by actions.params_clean
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class StaticTrigger(Trigger):
    event = models.CharField(max_length=30, choices=StaticEvent.choices)

    class Meta(Trigger.Meta):
        pass


class TimeoutTrigger(Trigger):
    """Fires ``delay_seconds`` after the participant's last message (or their first one), up to ``repeat`` times
    while they stay silent."""

    delay_seconds = models.PositiveIntegerField()
    from_first_message = models.BooleanField(default=False)
    repeat = models.PositiveSmallIntegerField(default=1)

    class Meta(Trigger.Meta):
        pass


class EventLog(models.Model):
    chatbot = models.ForeignKey("chatbots.Chatbot", on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(
        "conversations.ChatSession", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger_kind = models.CharField(max_length=10, choices=TriggerKind.choices)
    trigger_id = models.PositiveIntegerField()
    trigger_name = models.CharField(max_length=120)
    version_number = models.PositiveIntegerField(null=True, blank=True)
    event = models.CharField(max_length=30)
    action = models.CharField(max_length=30, choices=ActionType.choices)
    status = models.CharField(max_length=10, choices=LogStatus.choices)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["chatbot", "-created_at"], name="eventlog_chatbot_created")]

    def __str__(self) -> str:
        return f"{self.trigger_name}: {self.status}"


class TimeoutWatch(models.Model):
    """One timeout trigger on one session: when it is next due (None = not armed) and how often it fired."""

    session = models.ForeignKey("conversations.ChatSession", on_delete=models.CASCADE, related_name="+")
    trigger_id = models.PositiveIntegerField()
    due_at = models.DateTimeField(null=True, blank=True)
    fired = models.PositiveSmallIntegerField(default=0)
    anchor_at = models.DateTimeField()  # the participant message the delay counts from

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "trigger_id"], name="timeoutwatch_unique")]
        indexes = [models.Index(fields=["due_at"], condition=models.Q(due_at__isnull=False), name="timeoutwatch_due")]

    def __str__(self) -> str:
        return f"timeout {self.trigger_id} on session {self.session_id}"


class ScheduledMessage(models.Model):
    """A message the bot sends a participant at ``next_run_at``: once, or every ``interval`` ``unit`` until
    ``until`` or ``max_runs`` sends. A run missed by downtime is sent once, late; the runs in between are skipped
    (ADR 0140)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    chatbot = models.ForeignKey("chatbots.Chatbot", on_delete=models.CASCADE, related_name="+")
    participant = models.ForeignKey("conversations.Participant", on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    origin = models.CharField(max_length=10, choices=Origin.choices)
    # Makes a create idempotent (the bot's tool, an API client's retry): one schedule per key.
    request_key = models.CharField(max_length=100, null=True, blank=True, unique=True)
    first_run_at = models.DateTimeField()
    next_run_at = models.DateTimeField(null=True, blank=True)
    interval = models.PositiveIntegerField(null=True, blank=True)
    unit = models.CharField(max_length=10, choices=IntervalUnit.choices, blank=True)
    until = models.DateTimeField(null=True, blank=True)
    max_runs = models.PositiveIntegerField(null=True, blank=True)
    runs_done = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=ScheduleStatus.choices, default=ScheduleStatus.ACTIVE)
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["next_run_at", "id"]
        indexes = [
            models.Index(
                fields=["next_run_at"],
                condition=models.Q(status=ScheduleStatus.ACTIVE),
                name="scheduled_due",
            ),
            models.Index(fields=["participant", "-created_at"], name="scheduled_participant"),
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def is_recurring(self) -> bool:
        return self.interval is not None


class ScheduledAttempt(models.Model):
    scheduled = models.ForeignKey(ScheduledMessage, on_delete=models.CASCADE, related_name="attempts")
    due_at = models.DateTimeField()
    ran_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=10, choices=AttemptResult.choices, blank=True)  # "" = claimed, not run
    detail = models.TextField(blank=True)
    message = models.ForeignKey(
        "conversations.ChatMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-due_at", "-id"]

    def __str__(self) -> str:
        return f"attempt {self.pk} ({self.result or 'pending'})"


class Broadcast(models.Model):
    chatbot = models.ForeignKey("chatbots.Chatbot", on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    platforms = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=BroadcastStatus.choices, default=BroadcastStatus.PENDING)
    total = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Broadcast {self.pk} ({self.status})"

    @property
    def processed(self) -> int:
        return self.delivered + self.failed + self.skipped

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, round(100 * self.processed / self.total))


class BroadcastRecipient(models.Model):
    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="recipients")
    participant = models.ForeignKey("conversations.Participant", on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=20)
    result = models.CharField(max_length=10, choices=RecipientResult.choices, default=RecipientResult.PENDING)
    detail = models.CharField(max_length=500, blank=True)
    message = models.ForeignKey(
        "conversations.ChatMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["broadcast", "participant"], name="broadcastrecipient_unique")]

    def __str__(self) -> str:
        return f"{self.participant_id}: {self.result}"

"""Reads for the events pages: a chatbot's triggers and event log, a participant's schedules, broadcasts."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations.models import ChatSession, Participant
from tenant_apps.events.exceptions import NotFoundError
from tenant_apps.events.models import (
    Broadcast,
    BroadcastRecipient,
    EventLog,
    ScheduledAttempt,
    ScheduledMessage,
    StaticTrigger,
    TimeoutTrigger,
)


def static_triggers(*, chatbot: Chatbot) -> QuerySet[StaticTrigger]:
    return StaticTrigger.objects.filter(chatbot=chatbot).order_by("name", "id")


def timeout_triggers(*, chatbot: Chatbot) -> QuerySet[TimeoutTrigger]:
    return TimeoutTrigger.objects.filter(chatbot=chatbot).order_by("name", "id")


def static_trigger_get(*, chatbot: Chatbot, trigger_id: int) -> StaticTrigger:
    found = StaticTrigger.objects.filter(chatbot=chatbot, pk=trigger_id).first()
    if found is None:
        raise NotFoundError(code="events.trigger_not_found", message="No such trigger.")
    return found


def timeout_trigger_get(*, chatbot: Chatbot, trigger_id: int) -> TimeoutTrigger:
    found = TimeoutTrigger.objects.filter(chatbot=chatbot, pk=trigger_id).first()
    if found is None:
        raise NotFoundError(code="events.trigger_not_found", message="No such trigger.")
    return found


def event_log(*, chatbot: Chatbot) -> QuerySet[EventLog]:
    return EventLog.objects.filter(chatbot=chatbot).select_related("session").order_by("-created_at", "-id")


def participant_get(*, participant_id: int) -> Participant:
    found = Participant.objects.filter(pk=participant_id).first()
    if found is None:
        raise NotFoundError(code="participant.not_found", message="No such participant.")
    return found


def participant_scheduled(*, participant: Participant) -> QuerySet[ScheduledMessage]:
    return (
        ScheduledMessage.objects.filter(participant=participant)
        .select_related("chatbot")
        .order_by("status", "next_run_at", "-created_at")
    )


def scheduled_get(*, participant: Participant, public_id: uuid.UUID) -> ScheduledMessage:
    found = ScheduledMessage.objects.filter(participant=participant, public_id=public_id).first()
    if found is None:
        raise NotFoundError(code="scheduled.not_found", message="No such scheduled message.")
    return found


def scheduled_attempts(*, participant: Participant, limit: int = 50) -> QuerySet[ScheduledAttempt]:
    return (
        ScheduledAttempt.objects.filter(scheduled__participant=participant)
        .select_related("scheduled")
        .order_by("-due_at", "-id")[:limit]
    )


def broadcasts(*, chatbot: Chatbot) -> QuerySet[Broadcast]:
    return Broadcast.objects.filter(chatbot=chatbot).order_by("-created_at", "-id")


def broadcast_get(*, chatbot: Chatbot, broadcast_id: int) -> Broadcast:
    found = Broadcast.objects.filter(chatbot=chatbot, pk=broadcast_id).first()
    if found is None:
        raise NotFoundError(code="events.broadcast_not_found", message="No such broadcast.")
    return found


def broadcast_recipients(*, broadcast: Broadcast, limit: int = 200) -> QuerySet[BroadcastRecipient]:
    return broadcast.recipients.select_related("participant").order_by("id")[:limit]


def participant_chatbots(*, participant: Participant) -> QuerySet[Chatbot]:
    """The chatbots the participant has talked to (what a message can be scheduled from)."""
    return Chatbot.objects.filter(sessions__participant=participant).distinct().order_by("name")


def participant_sessions(*, participant: Participant, limit: int = 20) -> QuerySet[ChatSession]:
    return ChatSession.objects.filter(participant=participant).select_related("chatbot").order_by("-created_at")[:limit]

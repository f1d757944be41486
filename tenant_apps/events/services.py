"""Writes for the events app's pages and for other apps (the API): triggers, scheduled messages, broadcasts.

Scheduled messages are created and cancelled by ``scheduling`` (the one place, called by the UI, the API, the bot's
tool and trigger actions); the functions here are thin and keyword-only, as the API helper expects.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from tenant_apps.audit.services import audit_record
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import Participant
from tenant_apps.events import actions, scheduling, tasks
from tenant_apps.events.enums import IntervalUnit, Origin, StaticEvent
from tenant_apps.events.exceptions import InvalidStateError
from tenant_apps.events.models import Broadcast, ScheduledMessage, StaticTrigger, TimeoutTrigger

MAX_TRIGGERS = 50  # per kind per chatbot
MAX_DELAY = 30 * 86400
MAX_REPEAT = 20


def _check_common(*, name: str) -> str:
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidStateError(
            code="events.invalid_name",
            message="Name the trigger (120 characters max).",
            extra={"fields": {"name": "Required."}},
        )
    return name


@transaction.atomic
def static_trigger_save(
    *,
    chatbot: Chatbot,
    trigger: StaticTrigger | None = None,
    name: str,
    event: str,
    action: str,
    params: dict[str, Any],
    is_active: bool = True,
    actor: Any = None,
) -> StaticTrigger:
    """Create or update an event trigger on the chatbot's working copy (live once a version is published)."""
    name = _check_common(name=name)
    if event not in StaticEvent.values:
        raise InvalidStateError(
            code="events.invalid_event", message="Choose an event.", extra={"fields": {"event": "Choose an event."}}
        )
    cleaned = actions.params_clean(action=action, params=params)
    if trigger is None:
        if StaticTrigger.objects.filter(chatbot=chatbot).count() >= MAX_TRIGGERS:
            raise InvalidStateError(code="events.too_many_triggers", message=f"At most {MAX_TRIGGERS} event triggers.")
        trigger = StaticTrigger(chatbot=chatbot)
    trigger.name, trigger.event, trigger.action, trigger.params, trigger.is_active = (
        name,
        event,
        action,
        cleaned,
        is_active,
    )
    trigger.save()
    audit_record(
        actor=actor, action="events.trigger_saved", target=chatbot, data={"trigger": trigger.pk, "kind": "static"}
    )
    return trigger


@transaction.atomic
def timeout_trigger_save(
    *,
    chatbot: Chatbot,
    trigger: TimeoutTrigger | None = None,
    name: str,
    delay_seconds: int,
    from_first_message: bool,
    repeat: int,
    action: str,
    params: dict[str, Any],
    is_active: bool = True,
    actor: Any = None,
) -> TimeoutTrigger:
    """Create or update a timeout trigger: ``delay_seconds`` of participant silence (1 s to 30 days), fired up to
    ``repeat`` times (1 to 20)."""
    name = _check_common(name=name)
    errors = {}
    if not 1 <= delay_seconds <= MAX_DELAY:
        errors["delay_seconds"] = "Between 1 second and 30 days."
    if not 1 <= repeat <= MAX_REPEAT:
        errors["repeat"] = f"Between 1 and {MAX_REPEAT}."
    if errors:
        raise InvalidStateError(code="events.invalid_timeout", message="Check the timeout.", extra={"fields": errors})
    cleaned = actions.params_clean(action=action, params=params)
    if trigger is None:
        if TimeoutTrigger.objects.filter(chatbot=chatbot).count() >= MAX_TRIGGERS:
            raise InvalidStateError(
                code="events.too_many_triggers", message=f"At most {MAX_TRIGGERS} timeout triggers."
            )
        trigger = TimeoutTrigger(chatbot=chatbot)
    trigger.name, trigger.action, trigger.params, trigger.is_active = name, action, cleaned, is_active
    trigger.delay_seconds, trigger.from_first_message, trigger.repeat = delay_seconds, from_first_message, repeat
    trigger.save()
    audit_record(
        actor=actor, action="events.trigger_saved", target=chatbot, data={"trigger": trigger.pk, "kind": "timeout"}
    )
    return trigger


@transaction.atomic
def trigger_delete(*, trigger: StaticTrigger | TimeoutTrigger, actor: Any = None) -> None:
    chatbot = trigger.chatbot
    data = {"trigger": trigger.pk, "name": trigger.name}
    trigger.delete()
    audit_record(actor=actor, action="events.trigger_deleted", target=chatbot, data=data)


def scheduled_message_create(
    *,
    chatbot: Chatbot,
    participant: Participant,
    text: str,
    first_run_at: datetime,
    interval: int | None = None,
    unit: IntervalUnit | None = None,
    until: datetime | None = None,
    max_runs: int | None = None,
    created_by: Any = None,
    origin: Origin = Origin.BUILDER,
    request_key: str | None = None,
) -> ScheduledMessage:
    """Schedule a message (builder pages; the API passes ``origin=Origin.API`` and its idempotency key)."""
    return scheduling.scheduled_message_create(
        chatbot=chatbot,
        participant=participant,
        text=text,
        first_run_at=first_run_at,
        interval=interval,
        unit=unit,
        until=until,
        max_runs=max_runs,
        created_by=created_by,
        origin=origin,
        request_key=request_key,
    )


def scheduled_message_cancel(*, scheduled: ScheduledMessage) -> ScheduledMessage:
    return scheduling.scheduled_message_cancel(scheduled=scheduled)


BROADCAST_PLATFORMS = [p for p in Platform.values if p not in (Platform.API,)]
MAX_BROADCAST_TEXT = 2000


@transaction.atomic
def broadcast_create(*, chatbot: Chatbot, text: str, platforms: list[str], actor: Any = None) -> Broadcast:
    """Queue a broadcast of ``text`` to the chatbot's participants on ``platforms``; ``broadcast_run_task`` sends it."""
    text = text.strip()
    errors = {}
    if not text or len(text) > MAX_BROADCAST_TEXT:
        errors["text"] = f"Write the message ({MAX_BROADCAST_TEXT} characters max)."
    chosen = sorted(set(platforms))
    if not chosen or any(p not in BROADCAST_PLATFORMS for p in chosen):
        errors["platforms"] = "Choose at least one channel."
    if chatbot.is_archived:
        errors["text"] = "The chatbot is archived."
    if errors:
        raise InvalidStateError(
            code="events.invalid_broadcast", message="Check the broadcast.", extra={"fields": errors}
        )
    broadcast = Broadcast.objects.create(chatbot=chatbot, text=text, platforms=chosen, created_by=actor)
    audit_record(actor=actor, action="events.broadcast_created", target=chatbot, data={"broadcast": broadcast.pk})
    broadcast_id = broadcast.pk
    transaction.on_commit(lambda: tasks.broadcast_run_task.delay(broadcast_id=broadcast_id))
    return broadcast

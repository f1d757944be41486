"""Firing triggers: the event-handling task's work (``event_handle``), timeout watches (armed by participant
messages, fired by the team tick) and the log entry every firing writes.

Runs in a worker, never in the request or the turn: ``listeners`` only decides, from the version already loaded,
whether anything listens, and enqueues ``event_handle_task``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.conversations import hooks
from tenant_apps.conversations.enums import SessionStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession
from tenant_apps.events import actions, clock, tool_requests, triggers
from tenant_apps.events.enums import LogStatus, StaticEvent
from tenant_apps.events.models import EventLog, TimeoutWatch
from tenant_apps.events.triggers import FrozenTrigger

logger = logging.getLogger(__name__)

END_EVENTS = {
    hooks.EndReason.PARTICIPANT: StaticEvent.ENDED_BY_PARTICIPANT,
    hooks.EndReason.BOT: StaticEvent.ENDED_BY_BOT,
    hooks.EndReason.TIMEOUT: StaticEvent.ENDED_BY_TIMEOUT,
    hooks.EndReason.MANUAL: StaticEvent.ENDED_MANUALLY,
}
TIMEOUT_BATCH = 200


def fire(*, trigger: FrozenTrigger, session: ChatSession, event: str) -> EventLog:
    """Run ``trigger``'s action for ``session`` and log what happened (a failure is logged, not raised)."""
    try:
        detail, status = actions.action_run(trigger=trigger, session=session), LogStatus.SUCCESS
    except ApplicationError as exc:
        detail, status = exc.message, LogStatus.FAILURE
    except Exception as exc:  # a boundary: one trigger's failure must not stop the others or the tick
        logger.exception("trigger.failed", extra={"trigger": trigger.id, "session": session.pk})
        detail, status = f"Unexpected error: {type(exc).__name__}", LogStatus.FAILURE
    version = session.version if session.version_id else None
    return EventLog.objects.create(
        chatbot_id=session.chatbot_id,
        session=session,
        trigger_kind=trigger.kind,
        trigger_id=trigger.id,
        trigger_name=trigger.name,
        version_number=version.number if version else None,
        event=event,
        action=trigger.action,
        status=status,
        detail=detail[:2000],
    )


def event_handle(*, session_id: int, kind: str, message_id: int | None = None, end_reason: str | None = None) -> int:
    """Fire the session's version's triggers for one conversation event; arm timeouts on a participant message;
    turn the bot's scheduling tool requests into scheduled messages. Returns how many triggers fired."""
    session = (
        ChatSession.objects.select_related("chatbot", "version__pipeline", "participant", "chatbot__pipeline")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        return 0
    frozen = triggers.for_session(session)
    events: list[str] = []
    if kind == hooks.ConversationEvent.SESSION_STARTED:
        events.append(StaticEvent.CONVERSATION_STARTED)
        if StaticEvent.PARTICIPANT_JOINED in frozen.events and _first_session(session):
            events.append(StaticEvent.PARTICIPANT_JOINED)
    elif kind == hooks.ConversationEvent.PARTICIPANT_MESSAGE:
        events.append(StaticEvent.PARTICIPANT_MESSAGE)
        message = ChatMessage.objects.filter(pk=message_id).first() if message_id else None
        if message is not None:
            watches_arm(session=session, frozen=frozen, at=message.created_at)
    elif kind == hooks.ConversationEvent.BOT_MESSAGE:
        events.append(StaticEvent.BOT_MESSAGE)
        tool_requests.requests_take(session=session)
        if session.status == SessionStatus.ENDED and not _logged(session, StaticEvent.ENDED_BY_BOT):
            events.append(StaticEvent.ENDED_BY_BOT)  # the turn's "end session" tool ended it
    elif kind == hooks.ConversationEvent.SESSION_ENDED and end_reason:
        events.append(END_EVENTS[hooks.EndReason(end_reason)])
    fired = 0
    for event in events:
        for trigger in frozen.for_event(event):
            fire(trigger=trigger, session=session, event=event)
            fired += 1
    return fired


def _first_session(session: ChatSession) -> bool:
    return not ChatSession.objects.filter(
        chatbot_id=session.chatbot_id, participant_id=session.participant_id, pk__lt=session.pk
    ).exists()


def _logged(session: ChatSession, event: str) -> bool:
    return EventLog.objects.filter(session=session, event=event).exists()


# ------------------------------------------------------------------------------------------------- timeouts


def watches_arm(*, session: ChatSession, frozen: triggers.FrozenTriggers, at: datetime) -> None:
    """A participant message at ``at``: each timeout trigger is due ``delay`` after it (after the first message
    only, for ``from_first_message``); the count of firings starts again. A late-arriving older message changes
    nothing."""
    for trigger in frozen.timeouts:
        due = at + timedelta(seconds=trigger.delay_seconds)
        watch, created = TimeoutWatch.objects.get_or_create(
            session=session, trigger_id=trigger.id, defaults={"due_at": due, "anchor_at": at}
        )
        if created or trigger.from_first_message:
            continue
        TimeoutWatch.objects.filter(pk=watch.pk, anchor_at__lt=at).update(due_at=due, anchor_at=at, fired=0)


def timeouts_run_due(*, now: datetime | None = None) -> int:
    """Fire the timeout triggers that are due (row locks, SKIP LOCKED: one worker per watch). Each watch fires,
    then is due again ``delay`` later until it fired ``repeat`` times; a watch on an ended session is disarmed. A
    watch missed by downtime fires once, late (ADR 0140). Returns how many fired."""
    now = now or clock.now()
    fired = 0
    while True:
        with transaction.atomic():
            due = list(
                TimeoutWatch.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("session__version", "session__chatbot", "session__participant")
                .filter(due_at__lte=now)
                .order_by("due_at")[:TIMEOUT_BATCH]
            )
            to_fire: list[tuple[FrozenTrigger, ChatSession]] = []
            for watch in due:
                session = watch.session
                trigger = triggers.for_session(session).timeout(watch.trigger_id)
                if trigger is None or session.status == SessionStatus.ENDED:
                    watch.due_at = None
                    continue
                watch.fired += 1
                following = watch.anchor_at + timedelta(seconds=trigger.delay_seconds * (watch.fired + 1))
                if following <= now:
                    following = now + timedelta(seconds=trigger.delay_seconds)
                watch.due_at = following if watch.fired < trigger.repeat else None
                to_fire.append((trigger, session))
            if due:
                TimeoutWatch.objects.bulk_update(due, ["due_at", "fired"])
        for trigger, session in to_fire:
            fire(trigger=trigger, session=session, event="timeout")
            fired += 1
        if len(due) < TIMEOUT_BATCH:
            return fired

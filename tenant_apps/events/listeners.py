"""The conversation-event listener (registered with ``conversations.hooks`` in ``apps.ready``).

It runs inside the send, the turn's delivery and the session services, so it decides from what is loaded already:
the session's version (frozen triggers, cached per process by version id) and its pipeline (the scheduling tool).
When nothing listens it returns without a query; otherwise it enqueues ``event_handle_task`` after commit.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tenant_apps.conversations import hooks
from tenant_apps.conversations.models import ChatSession
from tenant_apps.events import tasks, tool_requests, triggers
from tenant_apps.events.enums import StaticEvent
from tenant_apps.events.firing import END_EVENTS

_WANTS = {
    hooks.ConversationEvent.SESSION_STARTED: {StaticEvent.CONVERSATION_STARTED, StaticEvent.PARTICIPANT_JOINED},
    hooks.ConversationEvent.PARTICIPANT_MESSAGE: {StaticEvent.PARTICIPANT_MESSAGE},
    hooks.ConversationEvent.BOT_MESSAGE: {StaticEvent.BOT_MESSAGE, StaticEvent.ENDED_BY_BOT},
}


def on_conversation_event(occurrence: hooks.Occurrence) -> None:
    session = occurrence.session
    message = occurrence.message
    if (
        occurrence.kind == hooks.ConversationEvent.BOT_MESSAGE
        and message is not None
        and message.metadata.get("event_origin")
    ):
        return  # the bot's own scheduled/broadcast/trigger message: no "new bot message" loop
    frozen = triggers.for_session(session)
    wanted = (
        {END_EVENTS[occurrence.end_reason]}
        if occurrence.kind == hooks.ConversationEvent.SESSION_ENDED and occurrence.end_reason
        else _WANTS.get(occurrence.kind, set())
    )
    needed = bool(frozen.events & wanted)
    if occurrence.kind == hooks.ConversationEvent.PARTICIPANT_MESSAGE and frozen.timeouts:
        needed = True
    if occurrence.kind == hooks.ConversationEvent.BOT_MESSAGE and _may_schedule(session):
        needed = True
    if not needed:
        return
    session_id = session.pk
    message_id = occurrence.message.pk if occurrence.message is not None else None
    kind, reason = str(occurrence.kind), str(occurrence.end_reason) if occurrence.end_reason else None
    transaction.on_commit(
        lambda: tasks.event_handle_task.delay(
            session_id=session_id, kind=kind, message_id=message_id, end_reason=reason
        )
    )


def _may_schedule(session: ChatSession) -> bool:
    """Whether the session's pipeline offers the scheduling tool, judged only from rows already loaded."""
    holder: Any
    if session.version_id is not None:
        if not ChatSession.version.is_cached(session):  # type: ignore[attr-defined]
            return False
        holder = session.version
    else:
        if not ChatSession.chatbot.is_cached(session):  # type: ignore[attr-defined]
            return False
        holder = session.chatbot
    if not type(holder)._meta.get_field("pipeline").is_cached(holder):
        return False
    return tool_requests.pipeline_schedules(holder.pipeline)

"""Conversation events other apps react to (the events app's triggers), without conversations importing them.

``emit`` is called where the thing happened: a session started (``services.session_start``), a participant's
message stored (``ingress``), a bot message handed to its channel (``delivery.deliver``), a session ended
(``services.session_end``). Listeners register at start-up (``AppConfig.ready``), like channel senders do.

A listener runs in the caller's code, often on the chat's hot path: it must be cheap (decide from what is loaded
already, with no query when nothing listens for this kind of event), enqueue its real work after commit, and
never raise. A listener that fails is logged and skipped; the conversation goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from tenant_apps.conversations.models import ChatMessage, ChatSession

logger = logging.getLogger(__name__)


class ConversationEvent(StrEnum):
    SESSION_STARTED = "session_started"
    PARTICIPANT_MESSAGE = "participant_message"
    BOT_MESSAGE = "bot_message"
    SESSION_ENDED = "session_ended"


class EndReason(StrEnum):
    PARTICIPANT = "participant"
    BOT = "bot"
    TIMEOUT = "timeout"
    MANUAL = "manual"


@dataclass(frozen=True)
class Occurrence:
    kind: ConversationEvent
    session: ChatSession
    message: ChatMessage | None = None
    end_reason: EndReason | None = None


Listener = Callable[[Occurrence], None]
_listeners: list[Listener] = []


def register(listener: Listener) -> None:
    """Called by apps at start-up (``AppConfig.ready``); registering the same listener twice is a no-op."""
    if listener not in _listeners:
        _listeners.append(listener)


def emit(occurrence: Occurrence) -> None:
    for listener in _listeners:
        try:
            listener(occurrence)
        except Exception:  # a boundary: a listener must never break the conversation
            logger.exception("conversation_event.listener_failed", extra={"kind": str(occurrence.kind)})

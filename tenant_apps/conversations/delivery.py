"""Hand a reply to the channel it belongs to, once it is committed.

In-app and public-link chats read replies from the database; they are told over Redis pub/sub so a waiting page
can stop polling at once. Platform channels (Telegram, WhatsApp, ...) register a sender for their platform.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings

from shared_apps.core.redis import get_redis, team_key
from tenant_apps.conversations.models import ChatMessage, ChatSession

logger = logging.getLogger(__name__)

Sender = Callable[[ChatMessage], None]
_senders: dict[str, Sender] = {}


def register_sender(platform: str, sender: Sender) -> None:
    """Called by channel apps at start-up (AppConfig.ready)."""
    _senders[platform] = sender


def session_channel(session_external_id: object) -> str:
    return team_key("session", session_external_id)


def deliver(*, reply: ChatMessage) -> None:
    """``reply`` must come with its session loaded (as the turn has it): no query here."""
    try:
        get_redis().publish(session_channel(reply.session.external_id), str(reply.pk))
    except redis.RedisError:
        logger.warning("reply.notify_failed", extra={"message_id": reply.pk})
    sender = _senders.get(reply.session.platform)
    if sender is not None:
        sender(reply)


# Long polls hold a web thread; at most this many per process wait at once, the rest answer at once and the page
# asks again a moment later (so a crowd of public-link visitors can never tie up every thread).
_wait_slots = threading.BoundedSemaphore(getattr(settings, "CHAT_LONG_POLL_SLOTS", 4))


def wait_for_reply(
    *, session: ChatSession, lookup: Callable[[], ChatMessage | None], timeout: float
) -> tuple[ChatMessage | None, bool]:
    """Block up to ``timeout`` seconds for the reply ``lookup`` finds (long poll), woken by ``deliver``'s publish.

    Returns (reply or None, whether it waited). Subscribes before looking in the database, so a reply committed in
    between is never missed. Without Redis or a free slot it is a plain lookup.
    """
    if timeout <= 0 or not _wait_slots.acquire(blocking=False):
        return lookup(), False
    try:
        return _wait(session, timeout, lookup), True
    finally:
        _wait_slots.release()


def _wait(session: ChatSession, timeout: float, lookup: Callable[[], ChatMessage | None]) -> ChatMessage | None:
    try:
        pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(session_channel(session.external_id))
    except redis.RedisError:
        return lookup()
    try:
        reply = lookup()
        deadline = time.monotonic() + timeout
        while reply is None and (remaining := deadline - time.monotonic()) > 0:
            if pubsub.get_message(timeout=min(remaining, 1.0)) is not None:
                reply = lookup()
        return reply or lookup()
    except redis.RedisError:
        return lookup()
    finally:
        with contextlib.suppress(redis.RedisError):
            pubsub.close()

"""Hand a reply to the channel it belongs to, once it is committed.

In-app and public-link chats read replies from the database; they are told over Redis pub/sub so a waiting page
can stop polling at once. Platform channels (Telegram, WhatsApp, ...) register a sender for their platform.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator

import redis
from django.conf import settings

from shared_apps.core.db import connection_release
from shared_apps.core.redis import get_redis, key, team_key
from tenant_apps.conversations import hooks
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
    hooks.emit(hooks.Occurrence(hooks.ConversationEvent.BOT_MESSAGE, reply.session, reply))


# Long polls hold a web thread; at most this many per process wait at once, the rest answer at once and the page
# asks again a moment later (so a crowd of public-link visitors can never tie up every thread). Keep it below the
# web server's threads per process.
_wait_slots = threading.BoundedSemaphore(settings.CHAT_LONG_POLL_SLOTS)


class _Listener:
    """One Redis subscription per process, to every session's channel; a long poll waits on an in-memory event.

    A subscription per poll would cost a new Redis connection (pub/sub connections are dropped when they end) and
    two round trips per turn. Here a poll registers its channel, looks in the database, and sleeps until the
    listener thread sees a publish on that channel (or the time is up).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._ready = threading.Event()
        self._pid = 0

    def register(self, channel: str) -> threading.Event | None:
        """An event set when ``channel`` gets a publish; None when Redis cannot be listened to right now."""
        self._ensure_running()
        if not self._ready.wait(timeout=0.5):
            return None
        event = threading.Event()
        with self._lock:
            self._waiters.setdefault(channel, set()).add(event)
        return event

    def unregister(self, channel: str, event: threading.Event) -> None:
        with self._lock:
            events = self._waiters.get(channel)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[channel]

    def _ensure_running(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()  # a forked child starts its own thread (threads do not survive a fork)
            self._waiters = {}
            self._ready.clear()
        threading.Thread(target=self._run, name="reply-listener", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(key("team", "*", "session", "*"))
                pubsub.get_message(timeout=1.0)  # the subscribe confirmation: from here on nothing is missed
                self._ready.set()
                while True:
                    message = pubsub.get_message(timeout=5.0)
                    if message is not None and message["type"] == "pmessage":
                        self._wake(message["channel"].decode())
            except redis.RedisError:
                logger.warning("reply.listener_lost")
                self._ready.clear()
                self._wake_all()  # waiting polls fall back to a plain look-up
                time.sleep(1.0)

    def _wake(self, channel: str) -> None:
        with self._lock:
            events = list(self._waiters.get(channel, ()))
        for event in events:
            event.set()

    def _wake_all(self) -> None:
        with self._lock:
            events = [event for group in self._waiters.values() for event in group]
        for event in events:
            event.set()


_listener = _Listener()


class ReplyWatch:
    """Listens to one session's channel (``reply_watch``) so a request can wait for a reply (long poll)."""

    def __init__(self, event: threading.Event | None, timeout: float) -> None:
        self._event = event
        self.deadline = time.monotonic() + timeout

    @property
    def listening(self) -> bool:
        return self._event is not None

    def wait(self, lookup: Callable[[], ChatMessage | None], *, look_first: bool = True) -> ChatMessage | None:
        """The reply ``lookup`` finds, looked for again at each publish on the channel until the time is up.
        ``look_first=False`` when nothing can have been answered before the watch began (the send: the watch starts
        before the turn is enqueued). Not listening: one plain lookup."""
        if self._event is None:
            return lookup()
        reply = lookup() if look_first else None
        while reply is None and (remaining := self.deadline - time.monotonic()) > 0:
            connection_release()  # a pooled web process holds no connection while a poll waits (ADR 0090)
            if self._event.wait(timeout=remaining):
                self._event.clear()
                reply = lookup()
        return reply


@contextlib.contextmanager
def reply_watch(*, session: ChatSession, timeout: float) -> Iterator[ReplyWatch]:
    """Listen for replies in ``session`` for up to ``timeout`` seconds, on one of the process's long-poll slots.
    Without Redis, a slot or a timeout the watch does not listen and ``wait`` is a plain lookup."""
    if timeout <= 0 or not _wait_slots.acquire(blocking=False):
        yield ReplyWatch(None, 0)
        return
    try:
        channel = session_channel(session.external_id)
        event = _listener.register(channel)
        try:
            yield ReplyWatch(event, timeout)
        finally:
            if event is not None:
                _listener.unregister(channel, event)
    finally:
        _wait_slots.release()


def wait_for_reply(
    *, session: ChatSession, lookup: Callable[[], ChatMessage | None], timeout: float
) -> tuple[ChatMessage | None, bool]:
    """Block up to ``timeout`` seconds for the reply ``lookup`` finds (long poll), woken by ``deliver``'s publish.

    Returns (reply or None, whether it waited). Registers for the session's channel before looking in the
    database, so a reply committed in between is never missed. Without Redis or a free slot it is a plain lookup.
    """
    with reply_watch(session=session, timeout=timeout) as watch:
        return watch.wait(lookup), watch.listening

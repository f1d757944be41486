"""Long polls: woken by the publish that follows a committed reply, over real Redis; bounded by slots and time."""

import threading
import time
import uuid
from types import SimpleNamespace

from shared_apps.core.redis import get_redis
from tenant_apps.conversations import delivery


def _session():
    return SimpleNamespace(external_id=uuid.uuid4())


def test_long_poll_returns_as_soon_as_the_reply_is_published():
    session, box = _session(), []

    def answer_later():
        time.sleep(0.3)
        box.append("reply")
        get_redis().publish(delivery.session_channel(session.external_id), "1")

    threading.Thread(target=answer_later).start()
    started = time.monotonic()
    reply, waited = delivery.wait_for_reply(session=session, lookup=lambda: box[0] if box else None, timeout=10)

    assert (reply, waited) == ("reply", True)
    assert time.monotonic() - started < 5  # woken by the publish, not by the 10 s timeout


def test_publish_on_another_session_does_not_end_the_wait_early():
    session, other = _session(), _session()
    lookups = []

    def lookup():
        lookups.append(1)

    threading.Timer(0.2, lambda: get_redis().publish(delivery.session_channel(other.external_id), "1")).start()
    reply, waited = delivery.wait_for_reply(session=session, lookup=lookup, timeout=0.6)

    assert (reply, waited) == (None, True)
    assert len(lookups) == 1  # looked once at the start, never re-woken by the other session's publish


def test_no_free_slot_answers_at_once_without_waiting(monkeypatch):
    monkeypatch.setattr(delivery, "_wait_slots", threading.BoundedSemaphore(1))
    delivery._wait_slots.acquire()
    started = time.monotonic()

    reply, waited = delivery.wait_for_reply(session=_session(), lookup=lambda: None, timeout=10)

    assert (reply, waited) == (None, False)
    assert time.monotonic() - started < 1


def test_a_watch_sees_a_reply_published_before_it_starts_waiting():
    """The send path: the watch starts, the turn is enqueued and may be answered at once, then the request waits
    without looking first."""
    session, box = _session(), []

    with delivery.reply_watch(session=session, timeout=5) as watch:
        assert watch.listening
        box.append("reply")
        get_redis().publish(delivery.session_channel(session.external_id), "1")
        started = time.monotonic()
        reply = watch.wait(lambda: box[0] if box else None, look_first=False)

    assert reply == "reply"
    assert time.monotonic() - started < 4

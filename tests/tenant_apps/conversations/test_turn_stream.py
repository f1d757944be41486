"""The worker's turn publisher against real Redis: the first chunk at once, later ones coalesced, the cancel key read
at each flush, done with the stored text, reset, and a Redis outage that never fails the turn."""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from shared_apps.core.redis import get_redis
from tenant_apps.conversations import streams, turn_stream
from tenant_apps.conversations.turn_stream import TurnPublisher
from tenant_apps.pipelines.engine.context import ReplyCancelled

SCHEMA = "t_publisher_test"


@pytest.fixture
def publisher() -> Any:
    message_id = int(time.time() * 1000) % 10**9
    pub = TurnPublisher(schema=SCHEMA, message_id=message_id)
    pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(pub.channel)
    pubsub.get_message(timeout=2)
    pub.events = lambda: [streams.decode(m["data"]) for m in iter(lambda: pubsub.get_message(timeout=0.2), None)]
    yield pub
    pubsub.close()
    get_redis().delete(pub.text_key, pub.done_key, pub.cancel_key)


def test_first_chunk_goes_at_once_then_tokens_are_coalesced(publisher):
    publisher.write("Hel")
    publisher.write("lo")
    publisher.write(", ")
    publisher.flush()

    events = publisher.events()
    assert events == [{"t": "token", "o": 0, "d": "Hel"}, {"t": "token", "o": 3, "d": "lo, "}]
    assert get_redis().get(publisher.text_key) == b"Hello, "
    assert 0 < get_redis().ttl(publisher.text_key) <= streams.STREAM_TTL_SECONDS


def test_a_token_after_the_coalescing_window_is_flushed_by_itself(publisher, monkeypatch):
    monkeypatch.setattr(turn_stream, "COALESCE_SECONDS", 0.0)

    for piece in ("a", "b", "c"):
        publisher.write(piece)

    assert [event["o"] for event in publisher.events()] == [0, 1, 2]


def test_a_set_cancel_key_ends_the_stream_at_the_next_flush(publisher):
    publisher.write("one ")
    get_redis().set(publisher.cancel_key, "1")
    publisher.write("two")

    with pytest.raises(ReplyCancelled):
        publisher.flush()

    assert publisher.cancelled
    assert get_redis().get(publisher.text_key) == b"one two"


def test_start_resets_what_a_lost_run_streamed_and_done_carries_the_stored_text(publisher):
    get_redis().set(publisher.text_key, "stale text")

    publisher.start()
    publisher.write("fresh")
    publisher.flush()
    publisher.done(reply_id=42, ok=True, text="fresh and final")

    assert publisher.events() == [
        {"t": "status", "s": "running", "detail": ""},
        {"t": "reset"},
        {"t": "token", "o": 0, "d": "fresh"},
        {"t": "done", "id": 42, "ok": True},
    ]
    assert streams.decode(get_redis().get(publisher.done_key)) == {"id": 42, "ok": True, "text": "fresh and final"}


def test_reset_before_a_retry_drops_the_text_and_starts_offsets_again(publisher):
    publisher.write("first try")
    publisher.reset()
    publisher.write("second")

    assert publisher.events()[-2:] == [{"t": "reset"}, {"t": "token", "o": 0, "d": "second"}]
    assert get_redis().get(publisher.text_key) == b"second"


def test_waiting_says_why(publisher):
    publisher.waiting("llm.rate_limited", 3.0)

    (event,) = publisher.events()
    assert event["s"] == "waiting"
    assert "rate limiting" in event["detail"]


def test_redis_down_never_fails_the_turn():
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    pub = TurnPublisher(schema=SCHEMA, message_id=1, client=dead)

    pub.start()
    pub.write("text")
    pub.flush()
    pub.reset()
    pub.done(reply_id=1, ok=True, text="text")

    assert not pub.cancelled

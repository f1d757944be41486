"""The ASGI stream server (ADR 0090 §6, ADR 0095) as a real uvicorn process on real Redis. The turn's side is the
worker's own publisher (``turn_stream.TurnPublisher``) driven by hand; tests through the real worker are in
test_stream_server_worker.py. Waits follow conditions with generous ceilings."""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from shared_apps.core.redis import get_redis
from tenant_apps.conversations import streams
from tenant_apps.conversations.turn_stream import TurnPublisher
from tests.fixtures_stream import STREAMS_PER_PROCESS, SseReader, StreamServerProcess

HOST = "alpha.localhost"
SCHEMA = "t_alpha"
CEILING = 60.0
_ids = itertools.count(random.randint(10**8, 10**9))


@pytest.fixture
def turn() -> Iterator[tuple[int, str, TurnPublisher]]:
    """A fresh turn: its message id, a stream token for the alpha host, and the worker's publisher for it."""
    message_id = next(_ids)
    token = streams.grant_sign(streams.StreamGrant(schema=SCHEMA, message_id=message_id, host=HOST))
    yield message_id, token, TurnPublisher(schema=SCHEMA, message_id=message_id)
    get_redis().delete(*(f(SCHEMA, message_id) for f in (streams.text_key, streams.done_key, streams.cancel_key)))


def _subscribers(message_id: int) -> int:
    return dict(get_redis().pubsub_numsub(streams.channel(SCHEMA, message_id)))[
        streams.channel(SCHEMA, message_id).encode()
    ]


def _wait(condition, seconds: float = CEILING) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _open(server: StreamServerProcess, token: str, *, host: str = HOST, **headers: str) -> httpx.Response:
    client = httpx.Client(timeout=httpx.Timeout(CEILING))
    request = client.build_request("GET", server.url(token), headers={"Host": host, **headers})
    return client.send(request, stream=True)


def test_tokens_arrive_in_order_and_done_carries_the_sanitised_reply(stream_server, turn):
    message_id, token, publisher = turn
    with contextlib.closing(_open(stream_server, token)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        _wait(lambda: _subscribers(message_id) == 1)  # the stream listens before anything is published
        reader = SseReader(response)

        def publish() -> None:
            publisher.start()
            for word in ["Hello", " **world**", ", and", " ünïcode", " more"]:
                publisher.write(word)
                time.sleep(0.1)  # each flushes on its own (past the publisher's coalescing window)
            publisher.flush()
            publisher.done(reply_id=7, ok=True, text="Hello **world**, and ünïcode more <script>alert(1)</script>")

        threading.Thread(target=publish).start()
        events = reader.until("done")

    tokens = [event for event in events if event.event == "token"]
    assert "".join(event.data["d"] for event in tokens) == "Hello **world**, and ünïcode more"
    assert [event.id for event in tokens] == list(itertools.accumulate(len(event.data["d"]) for event in tokens))
    assert {"s": "running", "detail": ""} in [event.data for event in events if event.event == "status"]
    done = events[-1].data
    assert done["id"] == 7
    assert done["ok"] is True
    assert "<strong>world</strong>" in done["html"]
    assert "<script" not in done["html"]
    _wait(lambda: _subscribers(message_id) == 0)  # the stream ended: its channel is unsubscribed


def test_a_stream_opened_late_gets_the_text_so_far_then_the_rest(stream_server, turn):
    _message_id, token, publisher = turn
    publisher.start()
    publisher.write("Already ")
    publisher.flush()
    with contextlib.closing(_open(stream_server, token)) as response:
        reader = SseReader(response)
        first = reader.next()
        publisher.write("streamed")
        publisher.flush()
        second = reader.next()
    assert first is not None
    assert (first.event, first.data, first.id) == ("token", {"d": "Already "}, 8)
    assert second is not None
    assert (second.event, second.data, second.id) == ("token", {"d": "streamed"}, 16)


def test_last_event_id_resumes_where_the_client_stopped(stream_server, turn):
    _message_id, token, publisher = turn
    publisher.start()
    publisher.write("0123456789")
    publisher.flush()
    with contextlib.closing(_open(stream_server, token, **{"Last-Event-ID": "4"})) as response:
        reader = SseReader(response)
        caught_up = reader.next()
        publisher.write("abc")
        publisher.flush()
        publisher.done(reply_id=8, ok=True, text="0123456789abc")
        rest = reader.until("done")
    assert caught_up is not None
    assert (caught_up.data, caught_up.id) == ({"d": "456789"}, 10)
    assert [(event.event, event.id) for event in rest] == [("token", 13), ("done", None)]
    assert rest[0].data == {"d": "abc"}


def test_a_reset_voids_the_text_and_the_retry_streams_again(stream_server, turn):
    message_id, token, publisher = turn
    with contextlib.closing(_open(stream_server, token)) as response:
        _wait(lambda: _subscribers(message_id) == 1)
        reader = SseReader(response)
        publisher.start()
        publisher.write("first try")
        publisher.flush()
        publisher.reset()
        publisher.write("second")
        publisher.flush()
        publisher.done(reply_id=9, ok=True, text="second")
        events = reader.until("done")
    kinds = [(event.event, event.id) for event in events]
    assert kinds == [("status", None), ("token", 9), ("reset", 0), ("token", 6), ("done", None)]


def test_after_done_a_new_stream_gets_only_the_final_reply(stream_server, turn):
    _message_id, token, publisher = turn
    publisher.start()
    publisher.write("partial")
    publisher.flush()
    publisher.done(reply_id=10, ok=False, text="Sorry, something went wrong.")
    with contextlib.closing(_open(stream_server, token)) as response:
        events = SseReader(response).until("done")
    assert [event.event for event in events] == ["done"]
    assert events[0].data == {"id": 10, "ok": False, "html": "<p>Sorry, something went wrong.</p>"}


@pytest.mark.parametrize("host", ["bravo.localhost", "localhost", "alpha.localhost.evil.example"])
def test_another_host_answers_404(stream_server, turn, host):
    _, token, _ = turn
    response = httpx.get(stream_server.url(token), headers={"Host": host}, timeout=CEILING)
    assert response.status_code == 404
    assert response.json()["code"] == "stream.not_found"


@pytest.mark.parametrize("token", ["nonsense", "a" * 400, "eyJzIjoidF9hbHBoYSJ9:1abc:forged"])
def test_a_bad_token_answers_404(stream_server, token):
    response = httpx.get(stream_server.url(token), headers={"Host": HOST}, timeout=CEILING)
    assert response.status_code == 404
    assert set(response.json()) == {"code", "message", "extra"}


def test_other_paths_and_methods_answer_clear_errors(stream_server, turn):
    _, token, _ = turn
    base = f"http://127.0.0.1:{stream_server.port}"
    assert httpx.get(f"{base}/", headers={"Host": HOST}).status_code == 404
    assert httpx.get(f"{base}/stream/turn/{'x' * 600}/", headers={"Host": HOST}).status_code == 404
    assert httpx.put(stream_server.url(token), headers={"Host": HOST}).status_code == 405
    assert httpx.get(stream_server.url(token, "cancel/"), headers={"Host": HOST}).status_code == 405


def test_cancel_sets_the_turns_cancel_key(stream_server, turn):
    message_id, token, _ = turn
    assert httpx.post(stream_server.url(token, "cancel/"), headers={"Host": "bravo.localhost"}).status_code == 404
    assert not get_redis().exists(streams.cancel_key(SCHEMA, message_id))

    response = httpx.post(stream_server.url(token, "cancel/"), headers={"Host": HOST}, timeout=CEILING)

    assert response.status_code == 204
    assert get_redis().exists(streams.cancel_key(SCHEMA, message_id))


def test_streams_of_one_turn_share_one_subscription_and_leaving_unsubscribes(stream_server, turn):
    message_id, token, publisher = turn
    first, second = _open(stream_server, token), _open(stream_server, token)
    try:
        _wait(lambda: _subscribers(message_id) == 1)
        publisher.start()
        publisher.write("to both")
        publisher.flush()
        events = [SseReader(first).next(), SseReader(second).next()]
    finally:
        first.close()
        second.close()
    assert [(event.event, event.data) for event in events if event] == [("status", {"s": "running", "detail": ""})] * 2
    _wait(lambda: _subscribers(message_id) == 0)  # both clients left: the channel is dropped


def test_heartbeats_keep_an_idle_stream_open(stream_server, turn):
    _, token, _ = turn
    with contextlib.closing(_open(stream_server, token)) as response:
        reader = SseReader(response)
        lines = response.iter_lines()
        reader._lines = lines
        seen = []
        for line in lines:
            seen.append(line)
            if line.startswith(": ping"):
                break
    assert ": ping" in seen


def test_the_number_of_streams_per_process_is_bounded(stream_server):
    tokens = [
        streams.grant_sign(streams.StreamGrant(schema=SCHEMA, message_id=next(_ids), host=HOST))
        for _ in range(STREAMS_PER_PROCESS + 1)
    ]
    opened = [_open(stream_server, token) for token in tokens[:STREAMS_PER_PROCESS]]
    try:
        assert all(response.status_code == 200 for response in opened)
        over = httpx.get(stream_server.url(tokens[-1]), headers={"Host": HOST}, timeout=CEILING)
        assert over.status_code == 503
        assert over.json()["code"] == "stream.busy"
        assert over.headers["retry-after"] == "5"
    finally:
        for response in opened:
            response.close()

    def slot_free() -> bool:  # the closed streams gave their slots back
        with contextlib.closing(_open(stream_server, tokens[-1])) as again:
            return again.status_code == 200

    _wait(slot_free)

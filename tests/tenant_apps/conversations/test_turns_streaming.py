"""Streaming turns through the real stack (ADR 0090): the gevent chat worker, its connection pool, Redis, and the
fake provider streaming at a realistic pace over the official SDK. Waits follow conditions with generous ceilings."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import IntegrityError, connection

from shared_apps.core.redis import get_redis, key
from tenant_apps.conversations import services, streams
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import ChatMessage
from tenants.context import tenant_context
from tenants.models import Team
from tests.factories.conversations import say, set_graph
from tests.factories.pipelines import code, edge, graph, node
from tests.factories.providers import llm_provider
from tests.fakes.llm_server import Profile
from tests.fixtures_worker import CHAT_WORKER_POOL

pytestmark = pytest.mark.worker

CEILING = 120.0  # seconds: a busy shared machine is slow, never this slow


def _make_bot(team: Team, fake_llm: Any, name: str) -> tuple[Any, Any]:
    from tenant_apps.chatbots.services import chatbot_create

    with tenant_context(team):
        provider = llm_provider(base_url=fake_llm.openai_base_url, name=f"{name} LLM")
        provider.custom_models.create(name="fake-model")
        return chatbot_create(name=name, created_by=None), provider


def _remove_bot(team: Team, bot: Any, provider: Any, last_event: int) -> None:
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenant_apps.pipelines.models import Pipeline

    with tenant_context(team):
        deadline = time.monotonic() + 120  # a ceiling: a worker may still be storing a turn the test left running
        while True:
            try:
                ChatSession.objects.filter(chatbot=bot).delete()
                break
            except IntegrityError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        Participant.objects.filter(identifier__startswith="stream-test").delete()
        Chatbot.objects.filter(pk=bot.pk).delete()
        Pipeline.objects.filter(pk=bot.pipeline_id).delete()
        provider.delete()
        AuditEvent.objects.filter(id__gt=last_event).delete()


@pytest.fixture
def bots(committed: None, fake_llm: Any) -> Iterator[Callable[[str], tuple[Team, Any, Any]]]:
    """``bots(slug)``: a committed chatbot of that team on the fake provider (a worker process sees it); all of it
    is removed afterwards."""
    from tenant_apps.audit.models import AuditEvent

    made: list[tuple[Team, Any, Any, int]] = []

    def make(slug: str) -> tuple[Team, Any, Any]:
        team = Team.objects.get(slug=slug)
        with tenant_context(team):
            last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        bot, provider = _make_bot(team, fake_llm, f"Stream bot {slug}")
        made.append((team, bot, provider, last_event))
        return team, bot, provider

    yield make
    for team, bot, provider, last_event in made:
        _remove_bot(team, bot, provider, last_event)


class Watcher:
    """Every event published on the team's turn channels, from before the first message is sent."""

    def __init__(self, schema: str) -> None:
        self.pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe(key("team", schema, "turn", "*"))
        self.pubsub.get_message(timeout=2)  # the subscribe confirmation: nothing is missed from here on
        self.schema = schema
        self.events: dict[int, list[dict[str, Any]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is None or message["type"] != "pmessage":
                continue
            message_id = int(message["channel"].decode().rsplit(":", 1)[1])
            self.events.setdefault(message_id, []).append(streams.decode(message["data"]))

    def wait_for(self, message_id: int, kind: str, seconds: float = CEILING) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [event for event in self.events.get(message_id, []) if event["t"] == kind]
            if found:
                return found[0]
            time.sleep(0.05)
        seen = self.events.get(message_id)
        raise AssertionError(f"no {kind!r} event for message {message_id} in {seconds} s: {seen}")

    def tokens(self, message_id: int) -> list[dict[str, Any]]:
        return [event for event in self.events.get(message_id, []) if event["t"] == "token"]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.pubsub.close()


@pytest.fixture
def watch() -> Iterator[Callable[[str], Watcher]]:
    watchers: list[Watcher] = []

    def make(schema: str) -> Watcher:
        watchers.append(Watcher(schema))
        return watchers[-1]

    yield make
    for watcher in watchers:
        watcher.close()


def _session(bot: Any, identifier: str) -> Any:
    participant = services.participant_get_or_create(platform=Platform.API, identifier=identifier)
    return services.session_start(chatbot=bot, version=None, participant=participant, platform=Platform.API)


def _wait_for_replies(message_ids: list[int], seconds: float = CEILING) -> dict[int, list[ChatMessage]]:
    deadline = time.monotonic() + seconds
    while True:
        replies: dict[int, list[ChatMessage]] = {}
        for reply in ChatMessage.objects.filter(reply_to_id__in=message_ids):
            replies.setdefault(reply.reply_to_id, []).append(reply)  # type: ignore[arg-type]
        if len(replies) == len(message_ids) or time.monotonic() > deadline:
            return replies
        time.sleep(0.2)


def _joined(tokens: list[dict[str, Any]]) -> str:
    text = ""
    for event in tokens:
        assert event["o"] == len(text), "tokens arrive in order, each at the offset where the last one ended"
        text += event["d"]
    return text


def test_tokens_arrive_in_order_and_join_into_exactly_the_stored_reply(live_worker, bots, fake_llm, watch):
    team, bot, _ = bots("alpha")
    fake_llm.profile = Profile(first_token=0.3, tokens=40, seconds=1.0)
    watcher = watch(team.schema_name)
    with tenant_context(team):
        message = say(_session(bot, "stream-test-1"), "tell me")

        done = watcher.wait_for(message.pk, "done")
        reply = ChatMessage.objects.get(reply_to_id=message.pk)
        stored = streams.decode(get_redis().get(streams.done_key(team.schema_name, message.pk)))
    tokens = watcher.tokens(message.pk)

    assert reply.content.startswith("Echo: tell me w0 w1")
    assert len(tokens) > 3  # streamed in pieces, not at the end
    assert _joined(tokens) == reply.content
    assert done == {"t": "done", "id": reply.pk, "ok": True}
    assert stored == {"id": reply.pk, "ok": True, "text": reply.content}
    kinds = [event["t"] for event in watcher.events[message.pk]]
    assert kinds[0] == "status"
    assert kinds[-1] == "done"


def test_200_concurrent_slow_turns_each_get_exactly_one_reply_on_few_connections(live_worker, bots, fake_llm):
    team, bot, _ = bots("alpha")
    fake_llm.profile = Profile(first_token=0.5, tokens=40, seconds=1.0)
    fake_llm.record = False
    with tenant_context(team):
        sessions = [_session(bot, f"stream-test-many-{n}") for n in range(200)]
    peak = {"connections": 0}
    stop = threading.Event()

    def count_connections() -> None:  # the chat worker's pool bounds its connections, however many turns run
        import psycopg

        db = connection.settings_dict
        with psycopg.connect(
            f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres",
            autocommit=True,
        ) as conn:
            while not stop.is_set():
                (count,) = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [db["NAME"]]
                ).fetchone()  # type: ignore[misc]
                peak["connections"] = max(peak["connections"], count)
                time.sleep(0.1)

    counter = threading.Thread(target=count_connections, daemon=True)
    counter.start()
    started = time.monotonic()
    with tenant_context(team):
        message_ids = [say(session, f"hello {n}").pk for n, session in enumerate(sessions)]

        replies = _wait_for_replies(message_ids)
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # a duplicate would show up now
        replies = _wait_for_replies(message_ids, seconds=0)
    stop.set()
    counter.join(5)

    assert sorted(replies) == sorted(message_ids), f"{len(replies)} of 200 answered in {elapsed:.0f} s"
    assert all(len(found) == 1 for found in replies.values())
    assert all(replies[m][0].content.startswith(f"Echo: hello {n} ") for n, m in enumerate(message_ids))
    # This test process (1-2), the prefork worker (2 + its parent) and the chat worker's pool: never one per turn.
    assert peak["connections"] <= CHAT_WORKER_POOL + 6, peak


def test_a_team_at_its_cap_queues_without_delaying_another_team(live_worker, bots, fake_llm, watch):
    team_a, bot_a, _ = bots("alpha")
    team_b, bot_b, _ = bots("bravo")
    fake_llm.profile = Profile(first_token=0.2, tokens=10, seconds=0.2)
    busy = get_redis()
    with tenant_context(team_a):
        inflight = key("team", team_a.schema_name, "turns", "inflight")
        busy.zadd(inflight, {f"elsewhere-{n}": time.time() + 600 for n in range(100)})  # team A is at its cap
        session_a = _session(bot_a, "stream-test-cap-a")
    with tenant_context(team_b):
        session_b = _session(bot_b, "stream-test-cap-b")
    watcher_a = watch(team_a.schema_name)
    try:
        with tenant_context(team_a):
            message_a = say(session_a, "team a")
        with tenant_context(team_b):
            message_b = say(session_b, "team b")

            reply_b = _wait_for_replies([message_b.pk])
        queued = watcher_a.wait_for(message_a.pk, "status")
        with tenant_context(team_a):
            waiting_a = ChatMessage.objects.filter(reply_to_id=message_a.pk).exists()
    finally:
        busy.delete(inflight)  # team A's burst is over
    with tenant_context(team_a):
        reply_a = _wait_for_replies([message_a.pk])

    assert reply_b[message_b.pk][0].content.startswith("Echo: team b")
    assert not waiting_a
    assert queued["s"] == "queued"
    assert reply_a[message_a.pk][0].content.startswith("Echo: team a")


def test_cancel_ends_the_model_call_and_keeps_what_was_streamed(live_worker, bots, fake_llm, watch):
    team, bot, _ = bots("alpha")
    fake_llm.profile = Profile(first_token=0.2, tokens=400, seconds=20.0)  # a long answer
    watcher = watch(team.schema_name)
    with tenant_context(team):
        message = say(_session(bot, "stream-test-cancel"), "go on")
        watcher.wait_for(message.pk, "token")
        get_redis().set(streams.cancel_key(team.schema_name, message.pk), "1", ex=60)  # the user pressed stop

        watcher.wait_for(message.pk, "done", seconds=30)
        reply = ChatMessage.objects.get(reply_to_id=message.pk)
    deadline = time.monotonic() + 30
    while fake_llm.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert fake_llm.disconnects == 1  # the provider saw the call end
    assert reply.metadata == {"cancelled": True}
    assert reply.content.startswith("Echo: go on")
    assert len(reply.content.split()) < 400
    assert _joined(watcher.tokens(message.pk)) == reply.content


def test_a_pipeline_with_a_router_code_and_two_llms_runs_and_streams_only_its_last_llm(
    live_worker, bots, fake_llm, watch
):
    team, bot, provider = bots("alpha")
    model = {"llm_provider_id": provider.pk, "llm_model": "fake-model"}
    document = graph(
        node("start", "start"),
        node("router", "llm_router", **model, keywords=["SHOUT", "CALM"]),
        code("return input.upper()", node_id="shout"),
        node("answer", "llm", **model, prompt="Answer.", history_type="none"),
        node("calm", "template", template_string="calm"),
        node("end", "end"),
        edges=[
            edge("start", "router"),
            edge("router", "shout", "output_0"),
            edge("router", "calm", "output_1"),
            edge("shout", "answer"),
            edge("answer", "end"),
            edge("calm", "end"),
        ],
    )
    fake_llm.reply('{"route": "SHOUT"}')  # the router's structured answer; the answer node echoes
    watcher = watch(team.schema_name)
    with tenant_context(team):
        set_graph(bot, document)
        message = say(_session(bot, "stream-test-pipeline"), "hello there")

        watcher.wait_for(message.pk, "done")
        reply = ChatMessage.objects.get(reply_to_id=message.pk)
        trace = reply.reply_to.trace  # type: ignore[union-attr]

    assert reply.content == "Echo: HELLO THERE"
    assert trace.node_path == ["start", "router", "shout", "answer", "end"]
    assert _joined(watcher.tokens(message.pk)) == "Echo: HELLO THERE"  # the router's JSON never streamed
    assert [request.json.get("stream", False) for request in fake_llm.requests] == [False, True]


def test_stream_keys_expire(live_worker, bots, fake_llm):
    team, bot, _ = bots("alpha")
    with tenant_context(team):
        message = say(_session(bot, "stream-test-ttl"), "short")
        _wait_for_replies([message.pk])
    redis = get_redis()
    deadline = time.monotonic() + 10
    while redis.ttl(streams.done_key(team.schema_name, message.pk)) < 0 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert 0 < redis.ttl(streams.text_key(team.schema_name, message.pk)) <= streams.STREAM_TTL_SECONDS
    assert 0 < redis.ttl(streams.done_key(team.schema_name, message.pk)) <= streams.STREAM_TTL_SECONDS
    assert json.loads(redis.get(streams.done_key(team.schema_name, message.pk)))["text"] == "Echo: short"

"""Recovery with real worker processes (ADR 0065): a worker killed mid-turn (SIGKILL) costs one lease, not minutes;
a slow turn of a live worker keeps its claim; the turn's time limit holds in the worker.

Each test starts its own chat workers (the session's ``live_worker`` stops consuming ``chat`` meanwhile) and
measures how long recovery took; the figures go to bench/RESULTS.md, the assertions only bound them generously.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from config.celery import app
from tenant_apps.conversations import services, turns
from tenant_apps.conversations.enums import Platform, TurnStatus
from tenant_apps.conversations.models import ChatMessage, Trace
from tenants.context import tenant_context
from tenants.models import Team
from tests.factories.conversations import say
from tests.factories.providers import llm_provider
from tests.fixtures_worker import ROOT, worker_env

pytestmark = pytest.mark.worker

POOLS = ["prefork", *(["gevent"] if importlib.util.find_spec("gevent") else [])]
CEILING = 180.0  # seconds: generous, for a busy 2-core machine; the measured figures are in bench/RESULTS.md


class ChatWorker:
    """One ``celery worker -Q chat`` process group of our own, which a test may SIGKILL."""

    def __init__(self, name: str, pool: str, log: Path, **settings: int) -> None:
        self.name = f"{name}-{os.getpid()}-{time.monotonic_ns()}"
        command = [sys.executable, "-m", "celery", "-A", "tests.fakes.worker_app", "worker", "-n", f"{self.name}@%h"]
        command += ["-Q", "chat", "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += ["-P", pool, "--concurrency", "2" if pool == "prefork" else "50"]
        env = {**worker_env(), **{key: str(value) for key, value in settings.items()}}
        if pool == "gevent":
            env.update(DB_POOL_MAX_SIZE="4", DB_POOL_MIN_SIZE="1")
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self) -> float:
        """Block until the worker answers a ping; returns when (``time.monotonic()``)."""
        deadline = time.monotonic() + CEILING
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log.read_text()[-3000:]}")
            replies = app.control.ping(timeout=0.5)
            if any(self.name in node for reply in replies for node in reply):
                return time.monotonic()
        raise RuntimeError(f"worker did not answer in {CEILING} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group (the main process and any pool children), as a machine or OOM would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def chat_workers(tmp_path: Path) -> Iterator[list[ChatWorker]]:
    """Workers the test starts (appended to the yielded list), alone on ``chat``; stopped afterwards."""
    others = app.control.inspect(timeout=1.0).active_queues() or {}
    paused = [node for node, queues in others.items() if any(queue["name"] == "chat" for queue in queues)]
    if paused:
        app.control.cancel_consumer("chat", destination=paused, reply=True, timeout=5)
    started: list[ChatWorker] = []
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()
        if paused:
            app.control.add_consumer("chat", destination=paused, reply=True, timeout=5)


@pytest.fixture
def committed_bot(django_db_setup, committed, fake_llm):
    """A chatbot in team A on the fake LLM, committed so worker processes see it; removed afterwards."""
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenant_apps.pipelines.models import Pipeline

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        provider = llm_provider(base_url=fake_llm.openai_base_url, name="Recovery LLM")
        provider.custom_models.create(name="fake-model")
        bot = chatbot_create(name="Recovery bot", created_by=None)
    yield team, bot
    with tenant_context(team):
        ChatSession.objects.filter(chatbot=bot).delete()
        Participant.objects.filter(identifier__startswith="recovery-test").delete()
        Chatbot.objects.filter(pk=bot.pk).delete()
        Pipeline.objects.filter(pk=bot.pipeline_id).delete()
        provider.delete()
        AuditEvent.objects.filter(id__gt=last_event).delete()


def _message(team: Team, bot, text: str) -> ChatMessage:
    with tenant_context(team):
        participant = services.participant_get_or_create(platform=Platform.API, identifier=f"recovery-test-{text}")
        session = services.session_start(chatbot=bot, version=None, participant=participant, platform=Platform.API)
        return say(session, text)  # enqueued on chat after commit


def _wait(condition, seconds: float = CEILING, every: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    return None


def _chat_requests(fake_llm) -> int:
    return len([r for r in fake_llm.requests if r.path.endswith("/chat/completions")])


def _replies(team: Team, message_id: int) -> list[ChatMessage]:
    with tenant_context(team):
        return list(ChatMessage.objects.filter(reply_to_id=message_id))


def _record(name: str, seconds: float) -> None:
    print(f"\nRECOVERY {name}: {seconds:.1f} s")  # shown with -s; the figures go to bench/RESULTS.md


@pytest.mark.parametrize("pool", POOLS)
def test_worker_killed_mid_turn_the_reply_arrives_once_soon_after_a_worker_runs_again(
    committed_bot, fake_llm, tmp_path, pool
):
    team, bot = committed_bot
    fake_llm.reply("the dead worker's answer", delay=60)  # the model is slow: the worker dies while waiting
    with chat_workers(tmp_path) as workers:
        workers.append(first := ChatWorker("doomed", pool, tmp_path / "first.log"))
        first.wait_ready()
        message = _message(team, bot, "hello")
        assert _wait(lambda: _chat_requests(fake_llm) == 1), "the first worker never called the model"

        killed = time.monotonic()
        first.kill()
        workers.append(second := ChatWorker("fresh", pool, tmp_path / "second.log"))
        running = second.wait_ready()
        replied = _wait(lambda: _replies(team, message.pk))
        seconds, since_kill, boot = time.monotonic() - running, time.monotonic() - killed, running - killed
        time.sleep(3)  # a second reply would arrive now, if there were one

        assert replied, f"no reply within {CEILING} s:\n{second.log.read_text()[-3000:]}"
        replies = _replies(team, message.pk)
        assert [reply.content for reply in replies] == ["Echo: hello"]
    _record(
        f"{pool}: killed, reply after a new worker runs (kill to reply {since_kill:.1f} s, boot {boot:.1f} s)", seconds
    )


@pytest.mark.parametrize("pool", POOLS[-1:])  # the chat worker's pool (gevent once installed): saves a minute
def test_worker_killed_mid_turn_another_running_worker_answers_once(committed_bot, fake_llm, tmp_path, pool):
    team, bot = committed_bot
    fake_llm.reply("the dead worker's answer", delay=60)
    with chat_workers(tmp_path) as workers:
        workers.append(first := ChatWorker("doomed", pool, tmp_path / "first.log"))
        first.wait_ready()
        message = _message(team, bot, "hi there")
        assert _wait(lambda: _chat_requests(fake_llm) == 1), "the first worker never called the model"
        workers.append(other := ChatWorker("other", pool, tmp_path / "other.log"))
        other.wait_ready()

        killed = time.monotonic()
        first.kill()
        replied = _wait(lambda: _replies(team, message.pk))
        seconds = time.monotonic() - killed
        time.sleep(3)

        assert replied, f"no reply within {CEILING} s:\n{other.log.read_text()[-3000:]}"
        assert [reply.content for reply in _replies(team, message.pk)] == ["Echo: hi there"]
    _record(f"{pool}: killed, another worker running, reply after the kill", seconds)


@pytest.mark.parametrize("pool", POOLS)
def test_slow_turn_of_a_live_worker_keeps_its_claim_and_the_time_limit_ends_a_slower_one(
    committed_bot, fake_llm, tmp_path, pool
):
    """A lease of 2 s, renewed: a turn that waits 7 s on its model is never taken over (one model call, one reply);
    a turn over the 10 s limit ends with the apology and a trace naming the node."""
    team, bot = committed_bot
    settings = {"CHAT_TURN_LEASE_SECONDS": 2, "CHAT_TURN_SOFT_LIMIT": 10, "CHAT_TURN_HARD_LIMIT": 30}
    fake_llm.reply("worth the wait", delay=7)
    with chat_workers(tmp_path) as workers:
        workers.append(worker := ChatWorker("slow", pool, tmp_path / "worker.log", **settings))
        worker.wait_ready()

        slow = _message(team, bot, "slow")
        replied = _wait(lambda: _replies(team, slow.pk))
        time.sleep(3)

        assert replied, worker.log.read_text()[-3000:]
        assert [reply.content for reply in _replies(team, slow.pk)] == ["worth the wait"]
        assert _chat_requests(fake_llm) == 1

        fake_llm.reply("far too late", delay=40)
        started = time.monotonic()
        too_slow = _message(team, bot, "too slow")
        replied = _wait(lambda: _replies(team, too_slow.pk))
        seconds = time.monotonic() - started

        assert replied, worker.log.read_text()[-3000:]
        assert [reply.content for reply in _replies(team, too_slow.pk)] == [turns.APOLOGY]
        with tenant_context(team):
            trace = Trace.objects.get(message_id=too_slow.pk)
            assert "took longer than its limit of 10 s" in trace.error
            assert trace.error_node_id
            assert ChatMessage.objects.get(pk=too_slow.pk).turn_status == TurnStatus.FAILED
    _record(f"{pool}: a turn over a 10 s limit answered after", seconds)

"""Resilience (issue 17): Redis restarted during traffic (the broker and everything queued in it lost) loses no
accepted inbound message, and each is answered exactly once: the message is in PostgreSQL before it is accepted,
the sweep enqueues again what the broker lost, and the claim lets one delivery through.

Restarts the test run's own Redis server (``TEST_REDIS_SERVER``, never the shared default on 6379): skipped
without one. The sweep's one-minute grace is shortened in this process so the test does not wait for it.
"""

from __future__ import annotations

import os
import subprocess
from urllib.parse import urlparse

import pytest

from tenant_apps.conversations import tasks, turns
from tenant_apps.conversations.enums import TurnStatus
from tenant_apps.conversations.models import ChatMessage
from tenants.context import tenant_context
from tests.tenant_apps.conversations.test_turn_recovery import (  # noqa: F401  (committed_bot is a fixture)
    CEILING,
    ChatWorker,
    _message,
    _wait,
    chat_workers,
    committed_bot,
)

pytestmark = [pytest.mark.worker, pytest.mark.resilience]

SERVER = os.environ.get("TEST_REDIS_SERVER", "")
PORT = urlparse(SERVER).port if SERVER else None


def _restart_redis() -> None:
    """Stop the server without saving (everything queued is gone) and start a fresh one on the same port."""
    subprocess.run(["redis-cli", "-p", str(PORT), "shutdown", "nosave"], capture_output=True, timeout=30)
    _wait(lambda: subprocess.run(["redis-cli", "-p", str(PORT), "ping"], capture_output=True).returncode != 0, 30)
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(PORT),
            "--daemonize",
            "yes",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            "/tmp",
        ],
        check=True,
        timeout=30,
    )
    assert _wait(lambda: b"PONG" in subprocess.run(["redis-cli", "-p", str(PORT), "ping"], capture_output=True).stdout)


@pytest.mark.skipif(not PORT or PORT == 6379, reason="needs the test run's own Redis server (TEST_REDIS_SERVER)")
@pytest.mark.skipif(
    not os.environ.get("RESILIENCE_REDIS_DRILL"),
    reason="restarts the run's Redis under every other test of the run: run it alone with RESILIENCE_REDIS_DRILL=1",
)
def test_redis_restart_during_traffic_loses_nothing_and_answers_each_once(
    committed_bot,  # noqa: F811  (the fixture)
    fake_llm,
    tmp_path,
    monkeypatch,
):
    team, bot = committed_bot
    with chat_workers(tmp_path) as workers:
        workers.append(ChatWorker("redis-drill", "prefork", tmp_path / "worker.log"))
        workers[0].wait_ready()
        before = [_message(team, bot, f"before {i}").pk for i in range(10)]
        _restart_redis()
        after = []
        for i in range(10):
            try:
                after.append(_message(team, bot, f"after {i}").pk)
            except Exception:  # an enqueue can fail while clients reconnect; the message row is what counts
                with tenant_context(team):
                    after.append(ChatMessage.objects.filter(content=f"after {i}").values_list("pk", flat=True).get())
        accepted = before + after

        monkeypatch.setattr(turns, "REQUEUE_PENDING_AFTER", turns.timedelta(seconds=0))

        def answered() -> bool:
            with tenant_context(team):
                tasks.turns_requeue_task()  # what beat runs every 2 minutes
                done = ChatMessage.objects.filter(reply_to_id__in=accepted).count()
            return done >= len(accepted)

        finished = _wait(answered, CEILING, every=2.0)

    with tenant_context(team):
        replies = list(ChatMessage.objects.filter(reply_to_id__in=accepted).values_list("reply_to_id", flat=True))
        statuses = set(ChatMessage.objects.filter(pk__in=accepted).values_list("turn_status", flat=True))
    assert finished
    assert sorted(replies) == sorted(accepted)  # every accepted message answered, none twice
    assert statuses == {TurnStatus.DONE}


def test_the_drill_has_its_own_redis(db):
    """(Also makes pytest-django set up the test database when this module runs alone.)"""
    assert PORT != 6379

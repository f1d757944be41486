"""Claims with a lease: renewed while the turn runs, swept (once) when it lapses (ADR 0065)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from shared_apps.core.redis import get_redis
from tenant_apps.conversations import turn_leases, turns
from tenant_apps.conversations.enums import TurnStatus
from tenant_apps.conversations.models import ChatMessage
from tests.factories.conversations import say


@pytest.fixture
def clean_index(monkeypatch):
    """An index of this test's own: a live worker's sweeper (the session's ``live_worker``) must not take its
    members."""
    name = f"test-turn-leases-{uuid.uuid4().hex}"
    monkeypatch.setattr(turn_leases, "_index", lambda: name)
    yield
    get_redis().delete(name)


def test_heartbeat_renews_the_leases_of_this_process_turns_only(member_session, clean_index):
    ours, finished = say(member_session, "ours"), say(member_session, "answered meanwhile")
    long_ago = timezone.now() - timedelta(minutes=5)
    ChatMessage.objects.filter(pk__in=[ours.pk, finished.pk]).update(
        turn_status=TurnStatus.PROCESSING, turn_started_at=long_ago
    )
    turn_leases.lease_hold("t_alpha", ours.pk)
    try:
        assert turn_leases.leases_renew() == 1
    finally:
        turn_leases.lease_end("t_alpha", ours.pk, finished=True)

    assert ChatMessage.objects.get(pk=ours.pk).turn_started_at > timezone.now() - timedelta(seconds=5)
    assert ChatMessage.objects.get(pk=finished.pk).turn_started_at == long_ago
    assert turn_leases.leases_renew() == 0  # nothing in flight any more
    assert get_redis().zcard(turn_leases._index()) == 0  # a finished turn leaves the index


def test_a_renewed_turn_is_not_taken_over_but_a_lapsed_one_is(member_session, fake_llm, settings, clean_index):
    settings.CHAT_TURN_LEASE_SECONDS = 15
    message = say(member_session, "Hi")
    ChatMessage.objects.filter(pk=message.pk).update(
        turn_status=TurnStatus.PROCESSING, turn_started_at=timezone.now() - timedelta(minutes=5)
    )
    turn_leases.lease_hold("t_alpha", message.pk)
    try:
        turn_leases.leases_renew()  # its worker is alive, however long the turn has run

        assert turns.turn_process(message_id=message.pk) is None
    finally:
        turn_leases.lease_end("t_alpha", message.pk, finished=False)  # ...and then it died
    ChatMessage.objects.filter(pk=message.pk).update(turn_started_at=timezone.now() - timedelta(seconds=16))

    assert turns.turn_process(message_id=message.pk).content == "Echo: Hi"


def test_a_crashed_turn_stays_in_the_index_and_is_swept_once_its_lease_lapsed(settings, clean_index):
    settings.CHAT_TURN_LEASE_SECONDS = 15
    turn_leases.lease_hold("t_alpha", 101)
    turn_leases.lease_end("t_alpha", 101, finished=False)  # the task crashed: the lease is left to lapse
    turn_leases.lease_hold("t_bravo", 202)
    turn_leases.lease_end("t_bravo", 202, finished=True)
    swept: list[tuple[str, int]] = []

    assert turn_leases.leases_sweep(enqueue=lambda schema, message_id: swept.append((schema, message_id))) == 0
    get_redis().zadd(turn_leases._index(), {"t_alpha:101": time.time() - 1})  # 17 s later
    assert turn_leases.leases_sweep(enqueue=lambda schema, message_id: swept.append((schema, message_id))) == 1
    assert turn_leases.leases_sweep(enqueue=lambda schema, message_id: swept.append((schema, message_id))) == 0

    assert swept == [("t_alpha", 101)]


def test_a_swept_turn_is_enqueued_in_its_own_schema(team_a, monkeypatch):
    from shared_apps.core.db import connection
    from tenant_apps.conversations import tasks

    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(
        tasks.turn_process_task, "delay", lambda message_id: seen.append((connection.schema_name, message_id))
    )

    tasks._turn_enqueue_in("t_alpha", 7)
    tasks._turn_enqueue_in("t_gone", 8)  # a deleted team's turn is dropped

    assert seen == [("t_alpha", 7)]

"""The scheduler's fan-out (a tick per active team, listed at every tick) and broadcasts."""

from __future__ import annotations

from datetime import timedelta

from tenant_apps.conversations import delivery, services
from tenant_apps.conversations.enums import Platform
from tenant_apps.events import broadcasts, clock, tasks, ticks
from tenant_apps.events.enums import BroadcastStatus, RecipientResult
from tenant_apps.events.models import BroadcastRecipient
from tenant_apps.events.services import broadcast_create
from tenants.enums import TeamStatus
from tenants.models import Team
from tests.factories.conversations import say


def _dispatch(monkeypatch):
    from shared_apps.core.db import connection

    schemas = []
    monkeypatch.setattr(tasks.events_tick_task, "delay", lambda: schemas.append(connection.schema_name))
    tasks.events_tick_dispatch_task()
    return schemas


def test_each_tick_lists_the_teams_again_new_ones_in_suspended_ones_out(team_a, team_b, monkeypatch):
    first = _dispatch(monkeypatch)
    Team.objects.create(name="Late", slug="late-team", schema_name="t_late_team", status=TeamStatus.ACTIVE)
    Team.objects.filter(pk=team_b.pk).update(status=TeamStatus.SUSPENDED)

    second = _dispatch(monkeypatch)

    assert {"t_alpha", "t_bravo"} <= set(first)
    assert "t_late_team" not in first
    assert "t_late_team" in second
    assert "t_alpha" in second
    assert "t_bravo" not in second


def test_a_tick_with_nothing_due_is_one_statement(team, django_assert_num_queries):
    ticks.tick()  # the connection is in the team's schema from here on (a worker's task sets it once too)

    with django_assert_num_queries(1):
        assert ticks.tick() == {"scheduled": 0, "timeouts": 0}


def test_broadcast_sends_to_each_participant_with_a_result_each(chatbot, owner, publish, start, monkeypatch):
    publish()
    web = services.participant_get_or_create(platform=Platform.WEB, identifier="web@example.com")
    recent = services.participant_get_or_create(platform=Platform.WHATSAPP, identifier="+15550002")
    stale = services.participant_get_or_create(platform=Platform.WHATSAPP, identifier="+15550003")
    telegram = services.participant_get_or_create(platform=Platform.TELEGRAM, identifier="77")
    for person in (web, recent, stale, telegram):
        session = start(person)
        say(session, "hi")
    from tenant_apps.conversations.models import ChatMessage

    ChatMessage.objects.filter(session__participant=stale).update(created_at=clock.now() - timedelta(days=2))

    def refuse(message):
        raise ConnectionError("blocked by the user")

    monkeypatch.setitem(delivery._senders, Platform.TELEGRAM, refuse)
    broadcast = broadcast_create(
        chatbot=chatbot,
        text="We are closed on Friday",
        platforms=[Platform.WEB, Platform.WHATSAPP, Platform.TELEGRAM],
        actor=owner,
    )
    waits = []

    done = broadcasts.broadcast_run(
        broadcast_id=broadcast.pk, throttle=broadcasts.Throttle({"default": 1000}, sleep=waits.append)
    )

    results = dict(BroadcastRecipient.objects.values_list("participant__identifier", "result"))
    assert results == {
        "web@example.com": RecipientResult.DELIVERED,
        "+15550002": RecipientResult.DELIVERED,
        "+15550003": RecipientResult.SKIPPED,
        "77": RecipientResult.FAILED,
    }
    assert (done.status, done.total, done.delivered, done.failed, done.skipped, done.percent) == (
        BroadcastStatus.DONE,
        4,
        2,
        1,
        1,
        100,
    )


def test_broadcast_throttles_per_channel():
    waits = []
    throttle = broadcasts.Throttle({"telegram": 2, "default": 0}, sleep=waits.append)

    for _ in range(3):
        throttle.wait("telegram")
    throttle.wait("web")

    assert len(waits) == 2  # the 2nd and 3rd telegram sends wait (here the fake sleep does not move the clock)
    assert 0.4 < waits[0] <= 0.5
    assert waits[1] > waits[0]

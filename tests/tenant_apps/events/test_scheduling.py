"""Scheduled messages on an injected clock: one-off and recurring, missed runs sent once late, until a date or a
count, cancel, attempts recorded, the bot's tool, and two workers racing for one due row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from tenant_apps.conversations.enums import MessageRole, Platform
from tenant_apps.events import clock, scheduling, tool_requests
from tenant_apps.events.enums import AttemptResult, IntervalUnit, Origin, ScheduleStatus
from tenant_apps.events.exceptions import InvalidStateError
from tenant_apps.events.models import ScheduledAttempt, ScheduledMessage


def _schedule(chatbot, participant, at, **kwargs):
    return scheduling.scheduled_message_create(
        chatbot=chatbot,
        participant=participant,
        text="Take your pill",
        first_run_at=at,
        origin=Origin.BUILDER,
        **kwargs,
    )


def test_a_one_off_message_is_delivered_once_when_due(chatbot, publish, participant):
    publish()
    at = clock.now() + timedelta(hours=1)
    scheduled = _schedule(chatbot, participant, at)

    assert scheduling.scheduled_run_due(now=at - timedelta(seconds=1)) == 0
    assert scheduling.scheduled_run_due(now=at) == 1
    assert scheduling.scheduled_run_due(now=at + timedelta(days=1)) == 0

    scheduled.refresh_from_db()
    attempt = scheduled.attempts.get()
    assert (scheduled.status, scheduled.runs_done) == (ScheduleStatus.DONE, 1)
    assert (attempt.result, attempt.message.content, attempt.message.role) == (
        AttemptResult.DELIVERED,
        "Take your pill",
        MessageRole.ASSISTANT,
    )


def test_recurring_until_a_count(chatbot, publish, participant):
    publish()
    at = clock.now()
    scheduled = _schedule(chatbot, participant, at, interval=1, unit=IntervalUnit.DAYS, max_runs=3)

    for day in range(5):
        scheduling.scheduled_run_due(now=at + timedelta(days=day))

    scheduled.refresh_from_db()
    assert (scheduled.status, scheduled.runs_done, scheduled.attempts.count()) == (ScheduleStatus.DONE, 3, 3)


def test_recurring_until_a_date(chatbot, publish, participant):
    publish()
    at = clock.now()
    scheduled = _schedule(chatbot, participant, at, interval=12, unit=IntervalUnit.HOURS, until=at + timedelta(days=1))

    for half_day in range(6):
        scheduling.scheduled_run_due(now=at + timedelta(hours=12 * half_day))

    assert scheduled.attempts.count() == 3  # at, +12 h, +24 h


def test_missed_runs_after_downtime_are_sent_once_late(chatbot, publish, participant):
    publish()
    at = clock.now()
    scheduled = _schedule(chatbot, participant, at, interval=1, unit=IntervalUnit.HOURS)

    assert scheduling.scheduled_run_due(now=at + timedelta(hours=5, minutes=30)) == 1

    scheduled.refresh_from_db()
    assert scheduled.next_run_at == at + timedelta(hours=6)
    assert scheduled.attempts.get().detail == "Sent 330 min late; 5 missed runs skipped"


def test_cancel_stops_it(chatbot, publish, participant):
    publish()
    at = clock.now()
    scheduled = _schedule(chatbot, participant, at, interval=1, unit=IntervalUnit.WEEKS)

    scheduling.scheduled_message_cancel(scheduled=scheduled)
    scheduling.scheduled_message_cancel(scheduled=scheduled)

    assert scheduling.scheduled_run_due(now=at + timedelta(weeks=3)) == 0
    scheduled.refresh_from_db()
    assert scheduled.status == ScheduleStatus.CANCELLED


def test_a_channel_rule_skips_and_a_failing_sender_fails(chatbot, publish, team, monkeypatch):
    from tenant_apps.conversations import delivery, services

    publish()
    whatsapp = services.participant_get_or_create(platform=Platform.WHATSAPP, identifier="+15550001")
    telegram = services.participant_get_or_create(platform=Platform.TELEGRAM, identifier="42")
    at = clock.now()
    skipped = _schedule(chatbot, whatsapp, at)
    failed = _schedule(chatbot, telegram, at)

    def refuse(message):
        raise ConnectionError("Telegram said 403")

    monkeypatch.setitem(delivery._senders, Platform.TELEGRAM, refuse)
    scheduling.scheduled_run_due(now=at)

    assert skipped.attempts.get().result == AttemptResult.SKIPPED
    assert "24-hour window" in skipped.attempts.get().detail
    assert (failed.attempts.get().result, failed.attempts.get().detail) == (
        AttemptResult.FAILED,
        "The channel could not send it: Telegram said 403",
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"text": ""}, id="empty"),
        pytest.param({"text": "x" * 2001}, id="too-long"),
        pytest.param({"interval": 2}, id="interval-without-unit"),
        pytest.param({"interval": 0, "unit": IntervalUnit.DAYS}, id="zero-interval"),
        pytest.param({"max_runs": 5000, "interval": 1, "unit": IntervalUnit.DAYS}, id="too-many-runs"),
        pytest.param({"first_run_at": "far"}, id="too-far-ahead"),
    ],
)
def test_bad_schedules_are_refused(chatbot, participant, kwargs):
    now = clock.now()
    if kwargs.get("first_run_at") == "far":
        kwargs["first_run_at"] = now + timedelta(days=500)
    arguments = {"text": "Hi", "first_run_at": now, **kwargs}

    with pytest.raises(InvalidStateError):
        scheduling.scheduled_message_create(chatbot=chatbot, participant=participant, origin=Origin.API, **arguments)


def test_the_same_request_key_makes_one_schedule(chatbot, participant):
    at = clock.now()

    first = _schedule(chatbot, participant, at, request_key="api:abc")
    again = _schedule(chatbot, participant, at, request_key="api:abc")

    assert first.pk == again.pk


def test_the_bots_tool_schedules_a_reminder(chatbot, fake_provider, publish, start, fake_llm, participant):
    from tenant_apps.conversations import turns
    from tests.factories.conversations import llm_node, say, set_graph
    from tests.factories.pipelines import chain

    set_graph(chatbot, chain(llm_node(fake_provider, tools=["schedule_message"])))
    publish()
    session = start()
    fake_llm.tool_call("schedule_message", {"message": "Time for your walk", "at": "2027-01-02T09:00:00+01:00"}).reply(
        "I will remind you."
    )
    message = say(session, "remind me on 2 January 2027 at 9 to walk")

    turns.turn_process(message_id=message.pk)
    session.refresh_from_db()
    created = tool_requests.requests_take(session=session)
    again = tool_requests.requests_take(session=session)

    scheduled = ScheduledMessage.objects.get()
    session.refresh_from_db()
    assert (created, again) == (1, 0)
    assert (scheduled.text, scheduled.origin, scheduled.participant) == ("Time for your walk", Origin.BOT, participant)
    assert scheduled.first_run_at.isoformat() == "2027-01-02T08:00:00+00:00"
    assert "_scheduled_requests" not in session.state


@pytest.fixture
def committed_schedule(committed):
    """A due schedule in team A, committed so two connections see it; removed afterwards."""
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create
    from tenant_apps.conversations import services
    from tenant_apps.pipelines.models import Pipeline
    from tenants.context import tenant_context
    from tenants.models import Team

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        bot = chatbot_create(name="Race bot", created_by=None)
        person = services.participant_get_or_create(platform=Platform.WEB, identifier="race@example.com")
        scheduled = _schedule(bot, person, clock.now() - timedelta(minutes=1))
    yield team, scheduled
    with tenant_context(team):
        ScheduledMessage.objects.filter(pk=scheduled.pk).delete()
        person.delete()
        Chatbot.objects.filter(pk=bot.pk).delete()
        Pipeline.objects.filter(pk=bot.pipeline_id).delete()


def test_two_workers_racing_for_one_due_row_claim_it_once(committed_schedule):
    from tenants.context import tenant_context

    team, scheduled = committed_schedule
    first_holds_lock, second_done = threading.Event(), threading.Event()
    claimed: dict[str, int] = {}

    def first_worker():
        with tenant_context(team), transaction.atomic():
            claimed["first"] = len(scheduling.scheduled_claim_due())  # the row lock is held until this commits
            first_holds_lock.set()
            second_done.wait(timeout=60)
        connection.close()

    def second_worker():
        first_holds_lock.wait(timeout=60)
        with tenant_context(team):
            claimed["second"] = len(scheduling.scheduled_claim_due())  # the locked row is skipped, not waited for
            second_done.set()
        connection.close()

    threads = [threading.Thread(target=first_worker), threading.Thread(target=second_worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    with tenant_context(team):
        claimed["later"] = len(scheduling.scheduled_claim_due())
        attempts = ScheduledAttempt.objects.filter(scheduled_id=scheduled.pk).count()

    assert claimed == {"first": 1, "second": 0, "later": 0}  # and once committed, the row is not due again
    assert attempts == 1

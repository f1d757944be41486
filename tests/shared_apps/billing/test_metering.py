"""The usage roll-up as the chat turn writes and reads it: upserts that join the turn's one statement, and
counters loaded by the turn's own query (no round trip of their own)."""

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import OuterRef

from shared_apps.billing.metering import UsageCounters, usage_annotations, usage_counters, usage_writes
from shared_apps.billing.models import UsageDay, UsagePeriod
from shared_apps.core.prepared import PreparedQuery, insert, write_together
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.chatbots.services import chatbot_create
from tenant_apps.conversations.models import Tag
from tenants.context import tenant_context
from tenants.models import Team

PERIOD = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
AT = datetime(2026, 3, 20, 23, 59, 58, tzinfo=UTC)


def _turn(team, *, chatbot_id=7, cost="0.0125", messages=1, tokens=(100, 20), tag=None, at=AT, period=PERIOD):
    """What a turn's store does: its own writes plus the usage, in one statement."""
    writes = [insert(Tag(name=tag))] if tag else []
    write_together(
        *writes,
        *usage_writes(
            team_id=team.pk,
            chatbot_id=chatbot_id,
            period_start=period,
            at=at,
            ai_messages=messages,
            cost=Decimal(cost),
            input_tokens=tokens[0],
            output_tokens=tokens[1],
        ),
    )


def test_each_turn_adds_its_message_cost_and_tokens_to_the_day_and_the_period(team):
    _turn(team, tag="first")
    _turn(team, tag="second", cost="0.5", tokens=(10, 5))

    day = UsageDay.objects.get(team=team, day=date(2026, 3, 20))
    assert (day.ai_messages, day.model_cost, day.input_tokens, day.output_tokens) == (2, Decimal("0.5125"), 110, 25)
    assert (day.reported_messages, day.reported_cost) == (0, 0)
    period = UsagePeriod.objects.get(team=team, period_start=PERIOD, chatbot_id=7)
    assert (period.ai_messages, period.model_cost) == (2, Decimal("0.5125"))
    assert Tag.objects.filter(name__in=["first", "second"]).count() == 2


def test_the_day_is_the_turns_utc_day_and_chatbots_have_their_own_period_rows(team):
    _turn(team, chatbot_id=1)
    _turn(team, chatbot_id=2, at=datetime(2026, 3, 21, 0, 0, 1, tzinfo=UTC))

    assert list(UsageDay.objects.filter(team=team).values_list("day", "ai_messages")) == [
        (date(2026, 3, 20), 1),
        (date(2026, 3, 21), 1),
    ]
    assert sorted(UsagePeriod.objects.filter(team=team).values_list("chatbot_id", "ai_messages")) == [(1, 1), (2, 1)]
    assert usage_counters(team_id=team.pk, period_start=PERIOD, chatbot_id=2) == UsageCounters(
        ai_messages=2, cost=Decimal("0.025"), chatbot_cost=Decimal("0.0125")
    )


def test_a_refused_statement_counts_nothing(team):
    """A redelivered turn's statement fails on the reply's unique constraint: its usage is not added again."""
    _turn(team, tag="taken")

    with pytest.raises(IntegrityError), transaction.atomic():
        _turn(team, tag="taken")

    assert UsageDay.objects.get(team=team).ai_messages == 1
    assert UsagePeriod.objects.get(team=team).ai_messages == 1


def test_usage_goes_to_the_team_named_from_any_team_schema(team_a, team_b):
    """The turn runs in its team's schema; the public roll-up is reached through the search path."""
    with tenant_context(team_a):
        _turn(team_a, cost="1")
    with tenant_context(team_b):
        _turn(team_b, cost="2")
        _turn(team_b, cost="2")

    assert usage_counters(team_id=team_a.pk, period_start=PERIOD).cost == Decimal("1")
    assert usage_counters(team_id=team_b.pk, period_start=PERIOD) == UsageCounters(2, Decimal("4"), Decimal(0))


def test_counters_are_read_by_the_turns_own_query(team, django_assert_num_queries):
    chatbot = chatbot_create(name="Counted")
    other = chatbot_create(name="Other")
    _turn(team, chatbot_id=chatbot.pk, cost="0.3")
    _turn(team, chatbot_id=other.pk, cost="0.2")
    _turn(team, chatbot_id=other.pk, cost="0.2")
    load = PreparedQuery(
        lambda pk, team_id, period_start: Chatbot.objects.annotate(
            **usage_annotations(team_id=team_id, period_start=period_start, chatbot_id=OuterRef("pk"))
        ).filter(pk=pk)[:1],
        pk=int,
        team_id=int,
        period_start=datetime,
    )

    with django_assert_num_queries(1):
        row = load.first(pk=chatbot.pk, team_id=team.pk, period_start=PERIOD)

    assert UsageCounters.of(row) == UsageCounters(ai_messages=3, cost=Decimal("0.7"), chatbot_cost=Decimal("0.3"))
    empty = load.first(pk=chatbot.pk, team_id=team.pk, period_start=datetime(2030, 1, 1, tzinfo=UTC))
    assert UsageCounters.of(empty) == UsageCounters()


def test_concurrent_turns_of_one_team_all_count(committed):
    """Turns committing at once on separate connections: every increment lands (the upsert locks the row)."""
    team_a = Team.objects.get(slug="alpha")
    period = datetime(2099, 1, 1, tzinfo=UTC)
    at = datetime(2099, 1, 2, 12, tzinfo=UTC)
    UsageDay.objects.filter(team=team_a, day=at.date()).delete()
    UsagePeriod.objects.filter(team=team_a, period_start=period).delete()
    threads, turns = 6, 25
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def run() -> None:
        try:
            connection.set_tenant(team_a)
            start.wait()
            for _ in range(turns):
                _turn(team_a, chatbot_id=1, cost="0.01", at=at, period=period)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)

        assert errors == []
        day = UsageDay.objects.get(team=team_a, day=at.date())
        assert (day.ai_messages, day.model_cost) == (threads * turns, Decimal("1.50"))
        assert usage_counters(team_id=team_a.pk, period_start=period).ai_messages == threads * turns
    finally:
        UsageDay.objects.filter(team=team_a, day=at.date()).delete()
        UsagePeriod.objects.filter(team=team_a, period_start=period).delete()

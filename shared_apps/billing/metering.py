"""Usage metering on the chat turn's path, with no round trip of its own (docs/adr/0120-billing.md §Metering).

Two pieces join statements the turn already runs:

* **Write**: ``usage_writes(...)`` gives two ``Write``s for ``shared_apps.core.prepared.write_together``: upserts
  (``INSERT ... ON CONFLICT DO UPDATE``) that add the turn's AI message, cost and tokens to the team's day row
  and to the chatbot's period row in ``public``. They are part of the turn's one statement, so they commit or
  fail with the reply: a redelivered turn whose reply already exists (unique ``reply_to``) adds nothing.
  Concurrent turns of a team serialise on the two rows for the statement's duration only.
* **Read**: ``usage_annotations(...)`` gives one scalar subquery for the turn's load query (the team's AI messages
  and model cost in the period and the chatbot's model cost), read by ``UsageCounters.of(row)`` and passed to
  ``enforcement.turn_allowance``.

Both take the period from ``enforcement.turn_period`` (the team's cached snapshot), so a turn reads and writes
the same period row. Table names are schema-qualified: the turn runs in the team's schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connections
from django.db.models import DecimalField, Func, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce

from shared_apps.billing.models import UsageDay, UsagePeriod
from shared_apps.core.prepared import Write

ZERO = Decimal(0)


def _table(model: Any) -> str:
    quote = connections["default"].ops.quote_name
    return f"{quote('public')}.{quote(model._meta.db_table)}"


_DAY_SQL = f"""INSERT INTO {_table(UsageDay)} AS u
    (team_id, day, ai_messages, model_cost, input_tokens, output_tokens, reported_messages, reported_cost)
    VALUES (%s, %s, %s, %s, %s, %s, 0, 0)
    ON CONFLICT (team_id, day) DO UPDATE SET
    ai_messages = u.ai_messages + EXCLUDED.ai_messages, model_cost = u.model_cost + EXCLUDED.model_cost,
    input_tokens = u.input_tokens + EXCLUDED.input_tokens, output_tokens = u.output_tokens + EXCLUDED.output_tokens"""  # noqa: S608

_PERIOD_SQL = f"""INSERT INTO {_table(UsagePeriod)} AS u (team_id, period_start, chatbot_id, ai_messages, model_cost)
    VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (team_id, period_start, chatbot_id) DO UPDATE SET
    ai_messages = u.ai_messages + EXCLUDED.ai_messages, model_cost = u.model_cost + EXCLUDED.model_cost"""  # noqa: S608


def usage_writes(
    *,
    team_id: int,
    chatbot_id: int,
    period_start: datetime,
    at: datetime,
    ai_messages: int = 1,
    cost: Decimal = ZERO,
    input_tokens: int = 0,
    output_tokens: int = 0,
) -> tuple[Write, Write]:
    """The turn's usage as two upserts for ``write_together`` (the day row and the chatbot's period row).

    ``team_id`` is the team whose schema the turn runs in (``connection.tenant.pk``); ``at`` the turn's time (its
    UTC day is the row's day); ``period_start`` from ``enforcement.turn_period``. Fixed SQL text: with the
    server-side prepared statements of ADR 0040 §7 PostgreSQL plans it once per connection."""
    day = at.astimezone(UTC).date()
    return (
        Write(sql=_DAY_SQL, params=[team_id, day, ai_messages, cost, input_tokens, output_tokens]),
        Write(sql=_PERIOD_SQL, params=[team_id, period_start, chatbot_id, ai_messages, cost]),
    )


def usage_annotations(*, team_id: Any, period_start: Any, chatbot_id: Any) -> dict[str, Any]:
    """The annotation for the turn's load query (``.annotate(**usage_annotations(...))``): one scalar subquery
    giving the period's AI messages and model cost of the team and the chatbot's model cost as an array
    (``billing_usage``; read it with ``UsageCounters.of(row)``). ``chatbot_id`` may be an ``OuterRef`` (e.g.
    ``OuterRef("session__chatbot_id")``); ``team_id`` and ``period_start`` may be a ``PreparedQuery``'s
    placeholders."""
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=6)
    totals = (
        UsagePeriod.objects.filter(team_id=team_id, period_start=period_start)
        .order_by()
        .values("team_id")
        .annotate(
            counters=Func(
                Cast(Sum("ai_messages"), money),
                Sum("model_cost"),
                Coalesce(Sum("model_cost", filter=Q(chatbot_id=chatbot_id)), Value(ZERO), output_field=money),
                template="ARRAY[%(expressions)s]",
                arg_joiner=", ",
                output_field=ArrayField(money),
            )
        )
        .values("counters")
    )
    return {"billing_usage": Subquery(totals, output_field=ArrayField(money))}


@dataclass(frozen=True)
class UsageCounters:
    """The period's usage before this turn: what ``turn_allowance`` compares with the limits and caps."""

    ai_messages: int = 0
    cost: Decimal = ZERO
    chatbot_cost: Decimal = ZERO

    @classmethod
    def of(cls, row: Any) -> UsageCounters:
        """From an object loaded with ``usage_annotations`` (no row yet in the period: zeros)."""
        values = row.billing_usage
        if not values:
            return cls()
        return cls(ai_messages=int(values[0]), cost=Decimal(values[1]), chatbot_cost=Decimal(values[2]))


_COUNTERS_SQL = f"""SELECT COALESCE(SUM(ai_messages), 0), COALESCE(SUM(model_cost), 0),
    COALESCE(SUM(model_cost) FILTER (WHERE chatbot_id = %s), 0)
    FROM {_table(UsagePeriod)} WHERE team_id = %s AND period_start = %s"""  # noqa: S608


def usage_counters(*, team_id: int, period_start: datetime, chatbot_id: int | None = None) -> UsageCounters:
    """The same counters in a query of their own, for callers off the turn's path (pages, checks, tests)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(_COUNTERS_SQL, [chatbot_id if chatbot_id is not None else -1, team_id, period_start])
        messages, cost, chatbot_cost = cursor.fetchone()
    return UsageCounters(ai_messages=int(messages), cost=Decimal(cost), chatbot_cost=Decimal(chatbot_cost))

"""A team's billing as the checks read it (plan limits, payment state, period anchor, spend caps), cached per
process so that a turn's check costs no query.

Invalidation is the resolver's (tenants/resolver.py): every billing write calls ``billing_changed()``, which clears
this process's entries at once and, after commit, bumps a generation counter in Redis; other processes compare the
counter at most every ``BILLING_CACHE_CHECK_SECONDS`` and drop their entries when it moved. Without Redis, entries
still expire after ``BILLING_CACHE_MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import calendar
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from shared_apps.billing.enums import PLAN_GIVING, CapAction, PaymentState, SubscriptionStatus
from shared_apps.billing.models import BillingAccount, ChatbotSpendCap, Plan, Subscription
from shared_apps.billing.plans import UNLIMITED, Limits, billing_enabled
from shared_apps.core.redis import get_redis, key

logger = logging.getLogger(__name__)

_GENERATION_KEY = "billing:generation"


@dataclass(frozen=True)
class ModelChoice:
    """A model of one of the team's LLM providers (a team row, referred to by id)."""

    provider_id: int
    model: str


@dataclass(frozen=True)
class TeamBilling:
    team_id: int
    plan: Limits  # the team's plan; ``limits`` is what applies (unlimited while billing is off)
    subscription_status: str = ""
    payment_failed_at: datetime | None = None
    period_anchor: datetime | None = None  # the subscription's billing cycle anchor (None: calendar months)
    spend_cap: Decimal | None = None
    cap_action: str = CapAction.LIMIT_MESSAGE
    fallback: ModelChoice | None = None
    limit_message: str = ""
    chatbot_caps: Mapping[int, Decimal] = field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return billing_enabled()

    @property
    def limits(self) -> Limits:
        return self.plan if self.enabled else UNLIMITED

    def grace_ends_at(self) -> datetime | None:
        if self.payment_failed_at is None:
            return None
        return self.payment_failed_at + timedelta(days=settings.BILLING_GRACE_DAYS)

    def payment_state(self, now: datetime | None = None) -> PaymentState:
        """OK, GRACE after a failed payment, READ_ONLY once the grace period is over (or Stripe gave up: unpaid).
        Computed from the clock, so the team turns read-only on time without a task."""
        if not self.enabled:
            return PaymentState.OK
        if self.subscription_status == SubscriptionStatus.UNPAID:
            return PaymentState.READ_ONLY
        grace_end = self.grace_ends_at()
        if grace_end is None:
            return PaymentState.OK
        return PaymentState.READ_ONLY if (now or timezone.now()) >= grace_end else PaymentState.GRACE

    def period(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        return period_bounds(anchor=self.period_anchor, now=now or timezone.now())


def period_bounds(*, anchor: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The monthly usage period containing ``now``: months from the subscription's anchor as Stripe counts them
    (an anchor on the 31st falls on the last day of shorter months), or calendar months (UTC) without one.
    Derived from the anchor alone, so every process gives a turn the same period key."""
    now = now.astimezone(UTC)
    if anchor is None:
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return start, _add_months(start, 1, day=1)
    anchor = anchor.astimezone(UTC)
    months = (now.year - anchor.year) * 12 + now.month - anchor.month
    start = _add_months(anchor, months, day=anchor.day)
    if start > now:
        months -= 1
        start = _add_months(anchor, months, day=anchor.day)
    return start, _add_months(anchor, months + 1, day=anchor.day)


def _add_months(moment: datetime, months: int, *, day: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return moment.replace(year=year, month=month, day=min(day, calendar.monthrange(year, month)[1]))


def _table(model: Any) -> str:
    return f'"public"."{model._meta.db_table}"'


# One round trip: the account, the newest plan-giving subscription, the plan (the account's or the default one)
# and the chatbot caps. A cold process (or a test) pays one query per team, not five.
_LOAD_SQL = f"""
SELECT p.code, p.name, p.max_chatbots, p.max_members, p.max_channels, p.max_ai_messages, p.max_concurrent_turns,
       p.price_monthly, s.status, s.payment_failed_at, s.billing_cycle_anchor, a.spend_cap, a.cap_action,
       a.fallback_provider_id, a.fallback_model, a.limit_message,
       (SELECT COALESCE(json_agg(json_build_array(c.chatbot_id, c.cap::text)), '[]'::json)
        FROM {_table(ChatbotSpendCap)} c WHERE c.team_id = t.id)
FROM (SELECT %s::bigint AS id) t
LEFT JOIN {_table(BillingAccount)} a ON a.team_id = t.id
LEFT JOIN LATERAL (
    SELECT status, payment_failed_at, billing_cycle_anchor FROM {_table(Subscription)}
    WHERE team_id = t.id AND status = ANY(%s) ORDER BY created_at DESC, id DESC LIMIT 1
) s ON true
LEFT JOIN {_table(Plan)} p ON p.id = COALESCE(a.plan_id, (SELECT id FROM {_table(Plan)} WHERE is_default LIMIT 1))
"""  # noqa: S608


def _load(team_id: int) -> TeamBilling:
    with connection.cursor() as cursor:
        cursor.execute(_LOAD_SQL, [team_id, sorted(PLAN_GIVING)])
        row = cursor.fetchone()
    (code, name, chatbots, members, channels, messages, turns, price, status, failed_at, anchor) = row[:11]
    spend_cap, cap_action, fallback_provider_id, fallback_model, limit_message, caps = row[11:]
    if code is None:
        logger.warning("billing.no_default_plan", extra={"team_id": team_id})
    plan = (
        Limits(
            code=code,
            name=name,
            chatbots=chatbots,
            members=members,
            channels=channels,
            ai_messages=messages,
            concurrent_turns=turns,
            price_monthly=price,
        )
        if code is not None
        else UNLIMITED
    )
    if isinstance(caps, str):  # json, not jsonb: psycopg may hand it over undecoded
        caps = json.loads(caps)
    return TeamBilling(
        team_id=team_id,
        plan=plan,
        subscription_status=status or "",
        payment_failed_at=failed_at,
        period_anchor=anchor,
        spend_cap=spend_cap,
        cap_action=cap_action or CapAction.LIMIT_MESSAGE,
        fallback=ModelChoice(provider_id=fallback_provider_id, model=fallback_model)
        if fallback_provider_id and fallback_model
        else None,
        limit_message=limit_message or "",
        chatbot_caps={int(chatbot_id): Decimal(cap) for chatbot_id, cap in caps},
    )


def current_subscription(*, team_id: int) -> Subscription | None:
    """The team's newest subscription that still gives a plan (active, trialing, past due or unpaid)."""
    return (
        Subscription.objects.select_related("plan")
        .filter(team_id=team_id, status__in=PLAN_GIVING)
        .order_by("-created_at", "-id")
        .first()
    )


class _Cache:
    def __init__(self) -> None:
        self._entries: dict[int, tuple[float, TeamBilling]] = {}
        self._lock = threading.Lock()
        self._generation: bytes | str | None = None
        self._checked_at = 0.0

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, team_id: int) -> TeamBilling:
        now = time.monotonic()
        if now - self._checked_at >= settings.BILLING_CACHE_CHECK_SECONDS:
            self._checked_at = now
            try:
                generation = get_redis().get(key(_GENERATION_KEY))
            except redis.RedisError:
                logger.warning("billing_cache.generation_unavailable")
            else:
                if generation != self._generation:
                    self._generation = generation
                    self.clear()
        hit = self._entries.get(team_id)
        if hit is not None and now - hit[0] < settings.BILLING_CACHE_MAX_AGE_SECONDS:
            return hit[1]
        billing = _load(team_id)
        with self._lock:
            self._entries[team_id] = (now, billing)
        return billing


_cache = _Cache()


def team_billing(team_id: int) -> TeamBilling:
    """The team's billing snapshot from this process's cache (one load per change, not per call)."""
    return _cache.get(team_id)


def billing_changed() -> None:
    """Call after any billing write: this process forgets at once; every other process within a second of the
    commit (a reader in between would cache the old rows)."""
    _cache.clear()
    transaction.on_commit(_bump_generation)


def _bump_generation() -> None:
    _cache.clear()
    try:
        get_redis().incr(key(_GENERATION_KEY))
    except redis.RedisError:
        logger.warning("billing_cache.invalidate_unavailable")


def clear_cache() -> None:
    """Tests: forget every snapshot in this process."""
    _cache.clear()

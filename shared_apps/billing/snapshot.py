"""A team's billing as the checks read it (plan limits, payment state, period anchor, spend caps), cached per
process so that a turn's check costs no query.

Invalidation is the resolver's (tenants/resolver.py): every billing write calls ``billing_changed()``, which clears
this process's entries at once and, after commit, bumps a generation counter in Redis; other processes compare the
counter at most every ``BILLING_CACHE_CHECK_SECONDS`` and drop their entries when it moved. Without Redis, entries
still expire after ``BILLING_CACHE_MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import calendar
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shared_apps.billing.enums import PLAN_GIVING, CapAction, PaymentState, SubscriptionStatus
from shared_apps.billing.models import BillingAccount, ChatbotSpendCap, Subscription
from shared_apps.billing.plans import UNLIMITED, Limits, billing_enabled, default_plan
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


def _load(team_id: int) -> TeamBilling:
    account = BillingAccount.objects.select_related("plan").filter(team_id=team_id).first()
    subscription = current_subscription(team_id=team_id)
    plan = (account.plan if account else None) or default_plan()
    if plan is None:
        logger.warning("billing.no_default_plan", extra={"team_id": team_id})
    fallback = None
    if account and account.fallback_provider_id and account.fallback_model:
        fallback = ModelChoice(provider_id=account.fallback_provider_id, model=account.fallback_model)
    return TeamBilling(
        team_id=team_id,
        plan=Limits.of(plan) if plan else UNLIMITED,
        subscription_status=subscription.status if subscription else "",
        payment_failed_at=subscription.payment_failed_at if subscription else None,
        period_anchor=subscription.billing_cycle_anchor if subscription else None,
        spend_cap=account.spend_cap if account else None,
        cap_action=account.cap_action if account else CapAction.LIMIT_MESSAGE,
        fallback=fallback,
        limit_message=account.limit_message if account else "",
        chatbot_caps=dict(ChatbotSpendCap.objects.filter(team_id=team_id).values_list("chatbot_id", "cap")),
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

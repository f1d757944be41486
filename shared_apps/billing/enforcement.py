"""What a team may do now under its plan, payment state and spend caps.

* ``turn_allowance``: the chat turn's check before any model call. Pure: it reads the cached snapshot and the
  usage counters the turn loaded with its message (``metering.usage_annotations``), so it costs no query.
  A turn is refused when the counters already reached a limit: the turn that crosses a limit or cap is the last
  one answered normally. Turns of one team that run at the same time read the same counters, so a limit can be
  overshot by at most the turns in flight (bounded by the plan's concurrent-turn cap).
* ``turn_period``: the period key the turn reads and writes its usage under.
* ``team_concurrency_cap``: the plan's cap on a team's turns in flight (the streaming turn runner reads it).
* ``plan_limit_enforce``: called at the entry of the services that add chatbots, members and channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from shared_apps.billing.enums import CapAction, PaymentState, Refusal, Resource
from shared_apps.billing.exceptions import PlanLimitError
from shared_apps.billing.metering import UsageCounters
from shared_apps.billing.models import DEFAULT_LIMIT_MESSAGE
from shared_apps.billing.plans import billing_enabled
from shared_apps.billing.snapshot import ModelChoice, TeamBilling, current_subscription, team_billing
from shared_apps.core.db import connection
from shared_apps.core.exceptions import InvalidStateError
from tenants.context import tenant_context
from tenants.models import Invitation, Membership, Team
from tenants.urls import team_url


@dataclass(frozen=True)
class TurnAllowance:
    """The answer to "may this chatbot call a model now?".

    ``allowed`` False: answer with ``message`` and make no model call; ``reason`` says why (a ``Refusal`` code
    for the trace). ``allowed`` True with ``model`` set: a spend cap is reached and the owner chose to switch, so
    every model call of this turn uses ``model`` instead of the configured one (``reason`` says which cap)."""

    allowed: bool
    reason: str = ""
    message: str = ""
    model: ModelChoice | None = None


ALLOWED = TurnAllowance(allowed=True)


def turn_period(*, team_id: int, now: datetime | None = None) -> datetime:
    """The start of the team's current usage period: the ``period_start`` of the turn's usage read and write."""
    return team_billing(team_id).period(now)[0]


def turn_allowance(
    *, team_id: int, chatbot_id: int, usage: UsageCounters, now: datetime | None = None
) -> TurnAllowance:
    """May ``chatbot_id`` of ``team_id`` make a model call now, given the period's ``usage`` before this turn?"""
    billing = team_billing(team_id)
    if billing.payment_state(now) == PaymentState.READ_ONLY:
        return _refuse(billing, Refusal.READ_ONLY)
    limit = billing.limits.ai_messages
    if limit is not None and usage.ai_messages >= limit:
        return _refuse(billing, Refusal.MESSAGE_LIMIT)
    reason = _cap_reached(billing, chatbot_id, usage)
    if reason is None:
        return ALLOWED
    if billing.cap_action == CapAction.FALLBACK_MODEL and billing.fallback is not None:
        return TurnAllowance(allowed=True, reason=reason, model=billing.fallback)
    return _refuse(billing, reason)


def _cap_reached(billing: TeamBilling, chatbot_id: int, usage: UsageCounters) -> str | None:
    if billing.spend_cap is not None and usage.cost >= billing.spend_cap:
        return Refusal.TEAM_SPEND_CAP
    cap = billing.chatbot_caps.get(chatbot_id)
    if cap is not None and usage.chatbot_cost >= cap:
        return Refusal.CHATBOT_SPEND_CAP
    return None


def _refuse(billing: TeamBilling, reason: str) -> TurnAllowance:
    return TurnAllowance(allowed=False, reason=reason, message=billing.limit_message or DEFAULT_LIMIT_MESSAGE)


def team_concurrency_cap(*, team_id: int) -> int | None:
    """How many turns of the team may be in flight at once under its plan (None: the installation's default)."""
    return team_billing(team_id).limits.concurrent_turns


# ------------------------------------------------------------------------------------------------ resource limits

_LOCK_CLASS = {Resource.CHATBOTS: 1201, Resource.MEMBERS: 1202, Resource.CHANNELS: 1203}
_LABELS = {
    Resource.CHATBOTS: "active chatbots",
    Resource.MEMBERS: "members (including pending invitations)",
    Resource.CHANNELS: "channels",
}


def plan_limit_enforce(*, resource: Resource, team: Team | None = None, current: int | None = None) -> None:
    """Refuse to add one more ``resource`` beyond the team's plan, or anything while the team is read-only.

    ``team`` defaults to the team whose schema is active; ``current`` to the configured counter (chatbots: a
    team-schema count; members: memberships plus pending invitations; channels: pass it). Inside the caller's
    transaction the check is serialised per team and resource, so two concurrent creations cannot both take
    the last slot. Raises ``PlanLimitError`` (``billing.plan_limit`` / ``billing.read_only``) with an upgrade link.
    """
    if not billing_enabled():
        return
    team = team or connection.tenant
    billing = team_billing(team.pk)
    upgrade_url = team_url(team, "/settings/billing/")
    if billing.payment_state() == PaymentState.READ_ONLY:
        raise PlanLimitError(
            code="billing.read_only",
            message=(
                "This team is read-only until its overdue invoice is paid. "
                f"An owner or admin can pay it or update the card at {upgrade_url}"
            ),
            extra={"resource": resource.value, "upgrade_url": upgrade_url},
        )
    limit = billing.limits.of_resource(resource)
    if limit is None:
        return
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            # The two-int form: its own key space, apart from the single-bigint locks elsewhere.
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_CLASS[resource], team.pk])
    count = current if current is not None else resource_count(team=team, resource=resource)
    if count >= limit:
        raise PlanLimitError(
            code="billing.plan_limit",
            message=(
                f"The {billing.limits.name} plan allows {limit} {_LABELS[resource]}. "
                f"An owner or admin can upgrade the plan at {upgrade_url}"
            ),
            extra={"resource": resource.value, "limit": limit, "plan": billing.limits.code, "upgrade_url": upgrade_url},
        )


def member_add_check(*, team: Team) -> None:
    """``TEAM_MEMBER_ADD_CHECKS`` hook: one more member (an invitation counts when it is sent) within the plan."""
    plan_limit_enforce(team=team, resource=Resource.MEMBERS)


def team_deletion_check(*, team: Team) -> None:
    """A team with a running subscription can't be deleted: Stripe would go on charging it. Cancelling (at the
    period's end is enough) comes first, in the Customer Portal."""
    if not billing_enabled():
        return
    subscription = current_subscription(team_id=team.pk)
    if subscription is not None and not subscription.cancel_at_period_end:
        raise InvalidStateError(
            code="billing.subscription_running",
            message=(
                "This team has a paid subscription. Cancel it first (Team settings → Billing → Manage billing), "
                "then delete the team."
            ),
        )


def resource_count(*, team: Team, resource: Resource) -> int:
    """How many of ``resource`` the team has now (chatbots are counted inside the team's schema)."""
    if resource == Resource.MEMBERS:
        return Membership.objects.filter(team=team).count() + Invitation.objects.pending().filter(team=team).count()
    counter = {Resource.CHATBOTS: settings.BILLING_CHATBOT_COUNTER, Resource.CHANNELS: settings.BILLING_CHANNEL_COUNTER}
    path = counter.get(resource, "")
    if not path:
        raise ValueError(f"No counter configured for {resource}: pass current=")
    counter_fn: Any = import_string(path)
    if connection.schema_name == team.schema_name:
        return int(counter_fn())
    with tenant_context(team):
        return int(counter_fn())

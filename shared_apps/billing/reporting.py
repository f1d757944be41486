"""Usage reported to Stripe as meter events, exactly once per unit of usage.

The periodic task does two steps per team:

1. **Outbox** (one transaction): for each day row whose usage grew since the last report, write a ``MeterEvent``
   for the difference with a deterministic identifier (team, day, meter, usage reported up to), and move the
   day's ``reported_*`` marks. Usage counted by turns meanwhile stays for the next run.
2. **Send**: post every pending event with its identifier. A crash or a network failure after Stripe accepted
   an event leaves it pending; the next run sends the same identifier again and Stripe de-duplicates it.
   A refusal (4xx) marks the event failed with Stripe's message, visible in the admin.

Only teams whose current subscription has a metered price report, and only usage from the day that
subscription started (earlier usage was on another plan and is marked reported without an event).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from shared_apps.billing.enums import MeterEventStatus
from shared_apps.billing.exceptions import StripeRequestError, StripeUnavailableError
from shared_apps.billing.models import BillingAccount, MeterEvent, UsageDay
from shared_apps.billing.plans import billing_enabled, prices_of
from shared_apps.billing.snapshot import current_subscription
from shared_apps.billing.stripe_api import stripe_call
from tenants.models import Team

logger = logging.getLogger(__name__)

STRIPE_BACKDATE_LIMIT = timedelta(days=35)  # Stripe refuses meter events older than this
COST_PLACES = Decimal("0.000001")


def teams_with_usage_to_report() -> list[int]:
    """Ids of teams with day rows not yet fully in the outbox, or with events still pending (none with billing
    off: nothing is reported then)."""
    if not billing_enabled():
        return []
    growing = UsageDay.objects.filter(Q(ai_messages__gt=F("reported_messages")) | Q(model_cost__gt=F("reported_cost")))
    pending = MeterEvent.objects.filter(status=MeterEventStatus.PENDING)
    ids = set(growing.values_list("team_id", flat=True).distinct()) | set(pending.values_list("team_id", flat=True))
    return sorted(ids)


def usage_report(*, team_id: int, now: datetime | None = None) -> int:
    """Queue the team's new usage as meter events and send what is pending. Returns how many were sent."""
    if not billing_enabled():
        return 0
    now = now or timezone.now()
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        return 0
    usage_outbox_fill(team=team, now=now)
    return meter_events_send(team=team)


@transaction.atomic
def usage_outbox_fill(*, team: Team, now: datetime) -> list[MeterEvent]:
    """Step 1: the usage not yet reported, as meter events in the outbox (one transaction with the marks)."""
    customer = BillingAccount.objects.filter(team=team).values_list("stripe_customer_id", flat=True).first()
    subscription = current_subscription(team_id=team.pk)
    metered = bool(customer and subscription and subscription.plan and prices_of(subscription.plan.code)[1])
    since = subscription.created_at.astimezone(UTC).date() if subscription is not None else None
    days = (
        UsageDay.objects.select_for_update()
        .filter(team=team)
        .filter(Q(ai_messages__gt=F("reported_messages")) | Q(model_cost__gt=F("reported_cost")))
        .order_by("day")
    )
    created: list[MeterEvent] = []
    for day in days:
        at = _timestamp(day.day, now)
        if metered and since is not None and day.day >= since and now - at <= STRIPE_BACKDATE_LIMIT:
            created += _events_for(team=team, customer=str(customer), day=day, at=at)
        day.reported_messages, day.reported_cost = day.ai_messages, day.model_cost
        day.save(update_fields=["reported_messages", "reported_cost"])
    return created


def _events_for(*, team: Team, customer: str, day: UsageDay, at: datetime) -> list[MeterEvent]:
    events = []
    stamp = day.day.strftime("%Y%m%d")
    meters = [
        (settings.STRIPE_METER_AI_MESSAGES, Decimal(day.reported_messages), Decimal(day.ai_messages)),
        (settings.STRIPE_METER_MODEL_COST, day.reported_cost, day.model_cost),
    ]
    for name, reported, total in meters:
        if not name or total <= reported:
            continue
        value = (total - reported).quantize(COST_PLACES)
        identifier = f"{settings.STRIPE_IDENTIFIER_PREFIX}-{team.pk}-{stamp}-{name}-{total.normalize()}"[:100]
        event, _ = MeterEvent.objects.get_or_create(
            identifier=identifier,
            defaults={
                "team": team,
                "event_name": name,
                "stripe_customer_id": customer,
                "value": value,
                "timestamp": at,
            },
        )
        events.append(event)
    return events


def _timestamp(day: object, now: datetime) -> datetime:
    """Today's usage at the time of the report; an earlier day's at its last second (so it lands in the period
    the usage happened in)."""
    end = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)  # type: ignore[arg-type]
    return min(end, now)


def meter_events_send(*, team: Team) -> int:
    """Post the team's pending meter events (oldest first); stop at the first passing failure (retried later)."""
    sent = 0
    for event in MeterEvent.objects.filter(team=team, status=MeterEventStatus.PENDING).order_by("created_at", "id"):
        MeterEvent.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1)
        params = {
            "event_name": event.event_name,
            "identifier": event.identifier,
            "timestamp": int(event.timestamp.timestamp()),
            "payload": {"stripe_customer_id": event.stripe_customer_id, "value": _number(event.value)},
        }
        try:
            _post(params)
        except StripeUnavailableError as exc:
            MeterEvent.objects.filter(pk=event.pk).update(error=exc.message)
            break
        except StripeRequestError as exc:
            MeterEvent.objects.filter(pk=event.pk).update(
                status=MeterEventStatus.FAILED, error=str(exc.extra.get("stripe_message") or exc.message)[:1000]
            )
            logger.error("billing.meter_event_refused", extra={"identifier": event.identifier})
            continue
        MeterEvent.objects.filter(pk=event.pk).update(status=MeterEventStatus.SENT, sent_at=timezone.now(), error="")
        sent += 1
    return sent


def _post(params: dict[str, Any]) -> None:
    stripe_call("meter_event.create", lambda client: client.v1.billing.meter_events.create(params=params))  # type: ignore[arg-type]


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text not in ("", "-0") else "0"

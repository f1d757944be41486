"""Usage reported to Stripe as meter events: each unit of usage once, whatever fails in between."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from shared_apps.billing import reporting, services
from shared_apps.billing.enums import MeterEventStatus
from shared_apps.billing.metering import usage_writes
from shared_apps.billing.models import MeterEvent, Subscription, UsageDay
from shared_apps.billing.snapshot import billing_changed
from shared_apps.billing.tasks import usage_report_dispatch_task
from shared_apps.core.prepared import write_together


@pytest.fixture
def subscribed(team_a, owner_a, billing_on):
    """Team A on Pro (flat + metered price) through Checkout; returns its Stripe customer id."""
    services.checkout_start(team=team_a, plan_code="pro", actor=owner_a)
    session_id = next(iter(billing_on.sessions))
    billing_on.complete_checkout(session_id)
    services.checkout_complete(team=team_a, session_id=session_id)
    return services.account_for(team=team_a).stripe_customer_id


def _usage(team, messages, cost="0", at=None):
    at = at or timezone.now()
    for _ in range(messages):
        write_together(
            *usage_writes(team_id=team.pk, chatbot_id=1, period_start=at, at=at, ai_messages=1, cost=Decimal(cost))
        )


def _billed(double, customer):
    return double.meter_totals().get((customer, "ai_messages"), 0)


def test_new_usage_is_sent_once(team_a, subscribed, billing_on):
    _usage(team_a, 3)

    assert reporting.usage_report(team_id=team_a.pk) == 1
    assert reporting.usage_report(team_id=team_a.pk) == 0
    _usage(team_a, 2)
    assert reporting.usage_report(team_id=team_a.pk) == 1

    assert _billed(billing_on, subscribed) == 5
    posts = [r for r in billing_on.requests if r.path == "/v1/billing/meter_events"]
    assert [p.form["payload"]["value"] for p in posts] == ["3", "2"]
    assert posts[0].form["payload"]["stripe_customer_id"] == subscribed
    assert len({p.form["identifier"] for p in posts}) == 2


def test_a_failed_send_is_retried_with_the_same_identifier(team_a, subscribed, billing_on):
    _usage(team_a, 4)
    billing_on.fail_next("/v1/billing/meter_events", status=500)

    assert reporting.usage_report(team_id=team_a.pk) == 0
    pending = MeterEvent.objects.get(team=team_a)
    assert (pending.status, pending.attempts) == (MeterEventStatus.PENDING, 1)
    _usage(team_a, 1)  # more usage meanwhile goes into a second event
    assert reporting.usage_report(team_id=team_a.pk) == 2

    posts = [r.form["identifier"] for r in billing_on.requests if r.path == "/v1/billing/meter_events"]
    assert posts[0] == posts[1] == pending.identifier
    assert _billed(billing_on, subscribed) == 5


def test_a_send_stripe_already_has_is_not_counted_twice(team_a, subscribed, billing_on):
    """A crash after Stripe accepted the event but before we marked it: the resend carries the same identifier."""
    _usage(team_a, 2)
    reporting.usage_report(team_id=team_a.pk)
    MeterEvent.objects.update(status=MeterEventStatus.PENDING)

    reporting.usage_report(team_id=team_a.pk)

    assert _billed(billing_on, subscribed) == 2


def test_a_refused_event_is_marked_failed_and_the_rest_go_on(team_a, subscribed, billing_on):
    Subscription.objects.update(created_at=timezone.now() - timedelta(days=5))
    yesterday = timezone.now() - timedelta(days=1)
    _usage(team_a, 1, at=yesterday)
    _usage(team_a, 1)
    billing_on.fail_next("/v1/billing/meter_events", status=400, message="No active meter with event_name ai_messages")

    reporting.usage_report(team_id=team_a.pk)

    statuses = list(MeterEvent.objects.order_by("timestamp").values_list("status", "error"))
    assert statuses[0] == (MeterEventStatus.FAILED, "No active meter with event_name ai_messages")
    assert statuses[1][0] == MeterEventStatus.SENT


def test_model_cost_is_reported_when_its_meter_is_named(team_a, subscribed, billing_on, settings):
    settings.STRIPE_METER_MODEL_COST = "model_cost"
    _usage(team_a, 2, cost="0.0125")

    reporting.usage_report(team_id=team_a.pk)

    assert billing_on.meter_totals()[(subscribed, "model_cost")] == pytest.approx(0.025)


def test_teams_without_a_metered_subscription_report_nothing(team_a, owner_a, billing_on):
    _usage(team_a, 3)

    assert reporting.usage_report(team_id=team_a.pk) == 0
    assert billing_on.requests == []
    day = UsageDay.objects.get(team=team_a)
    assert day.reported_messages == 3  # never billed later either


def test_usage_from_before_the_subscription_is_not_billed(team_a, subscribed, billing_on):
    _usage(team_a, 2, at=timezone.now() - timedelta(days=3))
    _usage(team_a, 1)

    reporting.usage_report(team_id=team_a.pk)

    assert _billed(billing_on, subscribed) == 1


def test_earlier_days_are_reported_at_their_last_second(team_a, subscribed, billing_on):
    Subscription.objects.update(created_at=timezone.now() - timedelta(days=5))
    billing_changed()
    two_days_ago = timezone.now() - timedelta(days=2)
    _usage(team_a, 1, at=two_days_ago)

    reporting.usage_report(team_id=team_a.pk)

    event = MeterEvent.objects.get(team=team_a)
    assert event.timestamp == datetime.combine(two_days_ago.astimezone(UTC).date(), datetime.max.time(), UTC).replace(
        microsecond=0
    )


def test_the_dispatch_enqueues_only_teams_with_something_to_report(team_a, team_b, subscribed, billing_on, eager_tasks):
    _usage(team_a, 2)

    assert usage_report_dispatch_task.delay().get() == 1
    assert _billed(billing_on, subscribed) == 2
    assert reporting.teams_with_usage_to_report() == []


def test_nothing_is_dispatched_with_billing_off(team_a, stripe_double):
    _usage(team_a, 2)

    assert reporting.teams_with_usage_to_report() == []
    assert stripe_double.requests == []

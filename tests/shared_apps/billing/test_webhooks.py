"""The apex Stripe webhook: signed events (the library's own signing helper) are applied once; tampered, stale,
unsigned, wrongly signed and replayed deliveries change nothing."""

import json
import time

from shared_apps.billing import services
from shared_apps.billing.enums import SubscriptionStatus
from shared_apps.billing.models import BillingAccount, Invoice, Subscription, WebhookEvent
from tenants.models import Team


def _subscribed(team, owner, double):
    """Team with a Stripe customer and a checkout session in the double; returns the session id."""
    services.checkout_start(team=team, plan_code="pro", actor=owner)
    return next(iter(double.sessions))


def _state(team):
    return (
        Team.objects.get(pk=team.pk).plan_code,
        list(Subscription.objects.filter(team=team).values_list("status", flat=True)),
        WebhookEvent.objects.count(),
    )


def test_a_signed_checkout_completion_puts_the_team_on_the_plan(team_a, owner_a, billing_on, deliver):
    session = _subscribed(team_a, owner_a, billing_on)
    events = billing_on.complete_checkout(session)

    responses = [deliver(event) for event in events]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert Team.objects.get(pk=team_a.pk).plan_code == "pro"
    subscription = Subscription.objects.get(team=team_a)
    assert (subscription.status, subscription.plan.code) == (SubscriptionStatus.ACTIVE, "pro")
    assert subscription.current_period_end is not None
    assert Invoice.objects.get(team=team_a).status == "paid"
    assert set(WebhookEvent.objects.values_list("type", flat=True)) == {e["type"] for e in events}
    assert responses[0].json()["outcome"] == "applied: subscription active"


def test_a_replayed_event_is_acknowledged_and_ignored(team_a, owner_a, billing_on, deliver):
    session = _subscribed(team_a, owner_a, billing_on)
    events = billing_on.complete_checkout(session)
    for event in events:
        deliver(event)
    failed = billing_on.payment_failed(Subscription.objects.get(team=team_a).stripe_subscription_id)
    for event in failed:
        deliver(event)
    paid = billing_on.payment_succeeded(Subscription.objects.get(team=team_a).stripe_subscription_id)
    for event in paid:
        deliver(event)
    before = _state(team_a)

    response = deliver(failed[0])  # the old "payment failed" again, freshly signed

    assert response.status_code == 200
    assert response.json()["outcome"] == "duplicate"
    assert _state(team_a) == before
    assert Subscription.objects.get(team=team_a).payment_failed_at is None


def test_a_tampered_event_is_rejected_and_changes_nothing(team_a, owner_a, billing_on, deliver):
    session = _subscribed(team_a, owner_a, billing_on)
    event = billing_on.complete_checkout(session)[1]
    tampered = json.loads(json.dumps(event))
    tampered["data"]["object"]["status"] = "active"
    tampered["data"]["object"]["items"]["data"][0]["price"]["id"] = "price_business_flat"
    before = _state(team_a)

    response = deliver(event, payload=json.dumps(tampered))  # signed for the original body

    assert response.status_code == 400
    assert response.json()["code"] == "billing.bad_signature"
    assert _state(team_a) == before


def test_a_stale_event_is_rejected(team_a, owner_a, billing_on, deliver, settings):
    session = _subscribed(team_a, owner_a, billing_on)
    event = billing_on.complete_checkout(session)[1]
    before = _state(team_a)

    old = deliver(event, timestamp=int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS - 5)

    assert old.status_code == 400
    assert _state(team_a) == before
    recent = deliver(event, timestamp=int(time.time()) - settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS + 30)
    assert recent.status_code == 200


def test_unsigned_and_wrongly_signed_events_are_rejected(team_a, owner_a, billing_on, deliver, apex_client):
    session = _subscribed(team_a, owner_a, billing_on)
    event = billing_on.complete_checkout(session)[1]
    before = _state(team_a)

    unsigned = apex_client.post("/billing/stripe/webhook/", data=json.dumps(event), content_type="application/json")
    wrong = deliver(event, secret="whsec_someone_else")
    garbage = apex_client.post(
        "/billing/stripe/webhook/", data=b"\xff\xfe", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )

    assert (unsigned.status_code, wrong.status_code, garbage.status_code) == (400, 400, 400)
    assert _state(team_a) == before


def test_an_unhandled_event_type_is_stored_and_ignored(team_a, billing_on, deliver):
    event = billing_on.event("customer.updated", {"id": "cus_x", "object": "customer"})

    response = deliver(event)

    assert response.status_code == 200
    assert WebhookEvent.objects.get(event_id=event["id"]).outcome == "ignored: event type not handled"


def test_an_older_subscription_event_arriving_late_is_ignored(team_a, owner_a, billing_on, deliver):
    session = _subscribed(team_a, owner_a, billing_on)
    created = billing_on.complete_checkout(session)
    for event in created:
        deliver(event)
    subscription_id = Subscription.objects.get(team=team_a).stripe_subscription_id
    cancelled = billing_on.cancel(subscription_id)[0]
    deliver(cancelled)
    late = billing_on.event(
        "customer.subscription.updated",
        dict(billing_on.subscriptions[subscription_id], status="active"),
        created=cancelled["created"] - 60,
    )

    deliver(late)

    assert Subscription.objects.get(team=team_a).status == SubscriptionStatus.CANCELED
    assert Team.objects.get(pk=team_a.pk).plan_code == "free"


def test_the_webhook_answers_404_with_billing_off(team_a, stripe_double, deliver):
    event = stripe_double.event("invoice.paid", {"id": "in_x", "object": "invoice"})

    assert deliver(event).status_code == 404
    assert not WebhookEvent.objects.exists()


def test_a_failure_while_applying_answers_500_and_stores_nothing(team_a, owner_a, billing_on, deliver):
    """Stripe delivers again later; the event id was not stored, so the retry is applied."""
    session = _subscribed(team_a, owner_a, billing_on)
    completed = billing_on.complete_checkout(session)[0]
    billing_on.fail_next(f"/v1/subscriptions/{billing_on.sessions[session]['subscription']}", status=500)

    first = deliver(completed)
    second = deliver(completed)

    assert (first.status_code, second.status_code) == (503, 200)
    assert WebhookEvent.objects.filter(event_id=completed["id"]).count() == 1
    assert BillingAccount.objects.get(team=team_a).plan.code == "pro"

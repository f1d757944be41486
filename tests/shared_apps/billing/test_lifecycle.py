"""The whole subscription lifecycle through the product's own doors (billing page, Stripe double, signed
webhooks): free -> checkout -> active -> payment failed -> grace -> read-only -> paid -> active."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from shared_apps.billing.enforcement import turn_allowance
from shared_apps.billing.enums import PaymentState, Refusal, SubscriptionStatus
from shared_apps.billing.exceptions import PlanLimitError
from shared_apps.billing.metering import UsageCounters
from shared_apps.billing.models import Subscription
from shared_apps.billing.snapshot import billing_changed, team_billing
from tenants.context import tenant_context
from tenants.models import Team


def _allowed(team):
    return turn_allowance(team_id=team.pk, chatbot_id=1, usage=UsageCounters())


def test_free_checkout_active_failed_grace_read_only_paid_active(team_a, owner_a, billing_on, client_for, deliver):
    client = client_for(team_a, owner_a)

    # Free: the default plan, no Stripe customer yet.
    page = client.get("/settings/billing/")
    assert page.status_code == 200
    assert b'data-testid="current-plan">Free<' in page.content
    assert billing_on.requests == []

    # Upgrade: a customer is created on first need, then a Checkout session with the flat and metered prices.
    response = client.post("/settings/billing/checkout/", {"plan": "pro"})
    assert response.status_code == 303
    assert response["Location"].startswith(billing_on.url + "/checkout/cs_test_")
    posted = {r.path: r.form for r in billing_on.requests if r.method == "POST"}
    assert posted["/v1/customers"]["metadata"] == {"team_id": str(team_a.pk), "team_slug": "alpha"}
    session = posted["/v1/checkout/sessions"]
    assert session["line_items"] == [{"price": "price_pro_flat", "quantity": "1"}, {"price": "price_pro_metered"}]
    assert session["client_reference_id"] == str(team_a.pk)
    assert (
        session["success_url"]
        == "http://alpha.localhost/settings/billing/checkout/done/?session_id={CHECKOUT_SESSION_ID}"
    )
    assert all(r.headers["authorization"] == "Bearer sk_test_double" for r in billing_on.requests)

    # The customer pays on Stripe's page; Stripe sends the signed events and the browser comes back.
    session_id = urlsplit(response["Location"]).path.rsplit("/", 1)[-1]
    for event in billing_on.complete_checkout(session_id):
        assert deliver(event).status_code == 200
    back = client.get(f"/settings/billing/checkout/done/?session_id={session_id}", follow=True)
    assert b"The team is now on the Pro plan." in back.content
    assert b'data-testid="current-plan">Pro<' in back.content
    assert Team.objects.get(pk=team_a.pk).plan_code == "pro"
    assert team_billing(team_a.pk).payment_state() == PaymentState.OK
    assert _allowed(team_a).allowed

    # The renewal payment fails: grace period with a banner, chatbots still answer.
    subscription_id = Subscription.objects.get(team=team_a).stripe_subscription_id
    for event in billing_on.payment_failed(subscription_id):
        assert deliver(event).status_code == 200
    assert team_billing(team_a.pk).payment_state() == PaymentState.GRACE
    assert _allowed(team_a).allowed
    home = client.get("/")
    assert b'data-testid="billing-banner"' in home.content
    assert b"The last payment failed" in home.content

    # The grace period runs out: read-only, chats get the limit message, nothing can be added.
    later = timezone.now() + timedelta(days=8)
    assert team_billing(team_a.pk).payment_state(later) == PaymentState.READ_ONLY
    assert _allowed_at(team_a, later) == (False, Refusal.READ_ONLY)
    Subscription.objects.filter(team=team_a).update(payment_failed_at=timezone.now() - timedelta(days=8))
    billing_changed()
    with tenant_context(team_a):
        from tenant_apps.chatbots.services import chatbot_create

        with pytest.raises(PlanLimitError):
            chatbot_create(name="While unpaid", created_by=owner_a)
    assert b"Payment overdue: the team is read-only" in client.get("/").content

    # The invoice is paid: everything comes back by itself.
    for event in billing_on.payment_succeeded(subscription_id):
        assert deliver(event).status_code == 200
    subscription = Subscription.objects.get(team=team_a)
    assert (subscription.status, subscription.payment_failed_at) == (SubscriptionStatus.ACTIVE, None)
    assert team_billing(team_a.pk).payment_state() == PaymentState.OK
    assert _allowed(team_a).allowed
    assert b'data-testid="billing-banner"' not in client.get("/").content
    invoices = client.get("/settings/billing/").content
    assert invoices.count(b'data-testid="invoice-row"') == 2
    with tenant_context(team_a):
        from tenant_apps.audit.models import AuditEvent

        actions = list(
            AuditEvent.objects.filter(action__startswith="billing.").order_by("id").values_list("action", flat=True)
        )
    assert actions == [
        "billing.checkout_started",
        "billing.subscription_changed",  # active on Pro
        "billing.payment_failed",
        "billing.subscription_changed",  # past due
        "billing.payment_recovered",  # active again
    ]


def _allowed_at(team, now):
    allowance = turn_allowance(team_id=team.pk, chatbot_id=1, usage=UsageCounters(), now=now)
    return allowance.allowed, allowance.reason


def test_cancelling_puts_the_team_back_on_free(team_a, owner_a, billing_on, client_for, deliver):
    client = client_for(team_a, owner_a)
    location = client.post("/settings/billing/checkout/", {"plan": "business"})["Location"]
    session_id = urlsplit(location).path.rsplit("/", 1)[-1]
    for event in billing_on.complete_checkout(session_id):
        deliver(event)
    assert Team.objects.get(pk=team_a.pk).plan_code == "business"

    for event in billing_on.cancel(Subscription.objects.get(team=team_a).stripe_subscription_id):
        deliver(event)

    assert Team.objects.get(pk=team_a.pk).plan_code == "free"
    assert team_billing(team_a.pk).limits.code == "free"


def test_the_return_page_applies_the_subscription_before_the_webhook(team_a, owner_a, billing_on, client_for):
    client = client_for(team_a, owner_a)
    location = client.post("/settings/billing/checkout/", {"plan": "pro"})["Location"]
    session_id = urlsplit(location).path.rsplit("/", 1)[-1]
    billing_on.complete_checkout(session_id)  # events not delivered (yet)

    client.get(f"/settings/billing/checkout/done/?session_id={session_id}")

    assert Team.objects.get(pk=team_a.pk).plan_code == "pro"


def test_the_return_page_refuses_another_teams_session(team_a, team_b, owner_a, billing_on, client_for, make_member):
    location = client_for(team_a, owner_a).post("/settings/billing/checkout/", {"plan": "pro"})["Location"]
    session_id = urlsplit(location).path.rsplit("/", 1)[-1]
    billing_on.complete_checkout(session_id)
    other = client_for(team_b, make_member(team_b))

    response = other.get(f"/settings/billing/checkout/done/?session_id={session_id}", follow=True)

    assert b"That checkout session is unknown." in response.content
    assert Team.objects.get(pk=team_b.pk).plan_code == "free"

"""Billing services against the Stripe double: the customer made once, Checkout parameters, one subscription."""

import pytest

from shared_apps.billing import services
from shared_apps.billing.models import BillingAccount


def test_the_stripe_customer_is_created_once(team_a, owner_a, billing_on):
    first = services.customer_ensure(team=team_a)
    BillingAccount.objects.filter(team=team_a).update(stripe_customer_id=None)  # as if a racing request lost it
    second = services.customer_ensure(team=team_a)

    assert first == second  # same idempotency key: Stripe answered with the same customer
    assert len(billing_on.customers) == 1


def test_a_subscribed_team_changes_plan_in_the_portal_not_checkout(team_a, owner_a, billing_on):
    services.checkout_start(team=team_a, plan_code="pro", actor=owner_a)
    session_id = next(iter(billing_on.sessions))
    billing_on.complete_checkout(session_id)
    services.checkout_complete(team=team_a, session_id=session_id)

    with pytest.raises(services.InvalidStateError) as refused:
        services.checkout_start(team=team_a, plan_code="business", actor=owner_a)

    assert refused.value.code == "billing.already_subscribed"

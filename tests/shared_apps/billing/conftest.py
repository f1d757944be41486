"""Billing fixtures: the Stripe double (one loopback server per session and xdist worker, reset per test), billing
switched on against it, and signed webhook deliveries through the apex."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes.stripe_server import FakeStripeServer, sign

WEBHOOK_SECRET = "whsec_test_double"
PRICES = {
    "pro": {"flat": "price_pro_flat", "metered": "price_pro_metered"},
    "business": {"flat": "price_business_flat", "metered": ""},
}


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripeServer]:
    server = FakeStripeServer(webhook_secret=WEBHOOK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def stripe_double(stripe_server: FakeStripeServer) -> Iterator[FakeStripeServer]:
    stripe_server.reset()
    yield stripe_server
    stripe_server.reset()


@pytest.fixture
def billing_on(settings: Any, stripe_double: FakeStripeServer) -> FakeStripeServer:
    """Stripe keys configured, every API call going to the double (no retries: failures show at once)."""
    settings.STRIPE_SECRET_KEY = "sk_test_double"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = stripe_double.url
    settings.STRIPE_PRICES = PRICES
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    return stripe_double


@pytest.fixture
def deliver(apex_client: Any) -> Callable[..., Any]:
    """``deliver(event, secret=..., timestamp=..., payload=...)``: POST an event to the apex webhook as Stripe
    does (raw JSON body, ``Stripe-Signature`` from the library's own helper)."""

    def post(
        event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None, payload: str | None = None
    ) -> Any:
        body = payload if payload is not None else json.dumps(event)
        header = (
            sign(json.dumps(event), secret, timestamp=timestamp)
            if payload is not None
            else sign(body, secret, timestamp)
        )
        return apex_client.post(
            "/billing/stripe/webhook/", data=body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )

    return post


@pytest.fixture
def owner_a(team_a: Any, make_member: Any) -> Any:
    from tenants.enums import Role

    return make_member(team_a, Role.OWNER, email="owner-a@example.com")

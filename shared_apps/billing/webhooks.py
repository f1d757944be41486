"""Stripe webhooks (apex ``POST /billing/stripe/webhook/``): verified with ``stripe.Webhook.construct_event``
(signature and tolerance), each event id applied once, in one transaction with its effects.

A redelivered event (same id) is acknowledged and changes nothing. Stripe does not deliver in order, so the
subscription records when Stripe described its state and ignores older descriptions (``services.subscription_apply``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from shared_apps.billing import services
from shared_apps.billing.exceptions import BillingOffError
from shared_apps.billing.models import BillingAccount, WebhookEvent
from shared_apps.billing.plans import billing_enabled
from shared_apps.core.exceptions import ApplicationError
from tenants.models import Team

logger = logging.getLogger(__name__)


class BadSignatureError(ApplicationError):
    status_code = 400


@dataclass(frozen=True)
class WebhookResult:
    event_id: str
    type: str
    outcome: str  # "applied: ...", "ignored: ...", "duplicate"


def webhook_receive(*, payload: bytes, signature: str | None) -> WebhookResult:
    """Verify and apply one delivery. Raises ``BadSignatureError`` (400) for anything not signed by Stripe within
    the tolerance, ``BillingOffError`` when billing is off; processing errors propagate (the view answers 500 and
    Stripe delivers again; nothing was stored)."""
    if not billing_enabled():
        raise BillingOffError(code="billing.off", message="Billing is not set up on this installation.")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as exc:
        logger.warning("billing.webhook_refused", extra={"reason": str(exc)[:120]})
        raise BadSignatureError(code="billing.bad_signature", message="The Stripe signature does not verify.") from exc
    except (ValueError, UnicodeDecodeError) as exc:  # signed but not a v1 event (e.g. a thin event) or not JSON
        raise BadSignatureError(code="billing.bad_event", message="Not a Stripe event.") from exc
    return event_apply(event=event.to_dict())


@transaction.atomic
def event_apply(*, event: dict[str, Any]) -> WebhookResult:
    """Apply a verified event once: the event id is stored with the effects, in one transaction."""
    event_id, event_type = str(event.get("id") or ""), str(event.get("type") or "")
    if not event_id.startswith("evt_") or len(event_id) > 255:
        raise BadSignatureError(code="billing.bad_event", message="Not a Stripe event.")
    created = datetime.fromtimestamp(int(event.get("created") or 0), tz=UTC)
    try:
        with transaction.atomic():
            record = WebhookEvent.objects.create(event_id=event_id, type=event_type[:100], created=created)
    except IntegrityError:
        logger.info("billing.webhook_duplicate", extra={"event_id": event_id, "type": event_type})
        return WebhookResult(event_id=event_id, type=event_type, outcome="duplicate")
    obj = ((event.get("data") or {}).get("object")) or {}
    handler = HANDLERS.get(event_type)
    team, outcome = (None, "ignored: event type not handled") if handler is None else handler(obj, created)
    record.team = team
    record.outcome = outcome[:200]
    record.save(update_fields=["team", "outcome"])
    logger.info("billing.webhook_applied", extra={"event_id": event_id, "type": event_type, "outcome": outcome})
    return WebhookResult(event_id=event_id, type=event_type, outcome=outcome)


def _team_of(obj: dict[str, Any]) -> Team | None:
    """The team a Stripe object belongs to: by its customer, else by the team id we put in its metadata."""
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    if customer:
        account = BillingAccount.objects.select_related("team").filter(stripe_customer_id=customer).first()
        if account is not None:
            return account.team
    team_id = str(obj.get("client_reference_id") or (obj.get("metadata") or {}).get("team_id") or "")
    return Team.objects.filter(pk=int(team_id)).first() if team_id.isdigit() else None


def _checkout_completed(obj: dict[str, Any], created: datetime) -> tuple[Team | None, str]:
    team = _team_of(obj)
    if team is None:
        return None, "ignored: unknown team"
    if obj.get("mode") != "subscription" or not obj.get("subscription"):
        return team, "ignored: not a subscription checkout"
    customer = obj.get("customer")
    if customer:
        BillingAccount.objects.filter(team=team, stripe_customer_id__isnull=True).update(stripe_customer_id=customer)
    subscription = services.subscription_refresh(team=team, subscription_id=str(obj["subscription"]))
    return team, f"applied: subscription {subscription.status}"


def _subscription_changed(obj: dict[str, Any], created: datetime) -> tuple[Team | None, str]:
    team = _team_of(obj)
    if team is None or not obj.get("id"):
        return None, "ignored: unknown team"
    subscription = services.subscription_apply(team=team, data=obj, described_at=created)
    return team, f"applied: subscription {subscription.status}"


def _invoice(paid: bool) -> Callable[[dict[str, Any], datetime], tuple[Team | None, str]]:
    def apply(obj: dict[str, Any], created: datetime) -> tuple[Team | None, str]:
        team = _team_of(obj)
        if team is None or not obj.get("id"):
            return None, "ignored: unknown team"
        services.invoice_apply(team=team, data=obj, paid=paid, described_at=created)
        return team, "applied: invoice paid" if paid else "applied: payment failed"

    return apply


HANDLERS: dict[str, Callable[[dict[str, Any], datetime], tuple[Team | None, str]]] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "invoice.paid": _invoice(paid=True),
    "invoice.payment_failed": _invoice(paid=False),
}

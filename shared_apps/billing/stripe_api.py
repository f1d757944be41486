"""The one place that talks to Stripe: the official client, pointed at ``STRIPE_API_BASE`` (a loopback double in
tests), with a timeout and the library's own retries (with idempotency keys) on network errors and 5xx."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import stripe
from django.conf import settings

from shared_apps.billing.exceptions import BillingOffError, StripeRequestError, StripeUnavailableError
from shared_apps.billing.plans import billing_enabled

logger = logging.getLogger(__name__)

T = TypeVar("T")


@functools.cache
def _client(api_key: str, api_base: str, timeout: int, retries: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def stripe_client() -> stripe.StripeClient:
    if not billing_enabled():
        raise BillingOffError(code="billing.off", message="Billing is not set up on this installation.")
    return _client(
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_API_BASE,
        settings.STRIPE_TIMEOUT_SECONDS,
        settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def stripe_call(action: str, call: Callable[[stripe.StripeClient], T]) -> T:
    """Run ``call`` with the client, turning Stripe's errors into ours: passing failures (network, 429, 5xx) into
    ``StripeUnavailableError``, refusals into ``StripeRequestError``. Logged with Stripe's request id, never keys."""
    try:
        return call(stripe_client())
    except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
        logger.warning("stripe.unavailable", extra={"action": action, "error": type(exc).__name__})
        raise StripeUnavailableError(
            code="billing.stripe_unavailable", message="Stripe can't be reached right now. Try again in a minute."
        ) from exc
    except stripe.StripeError as exc:
        status = exc.http_status or 0
        logger.warning(
            "stripe.refused",
            extra={"action": action, "status": status, "code": exc.code or "", "request_id": exc.request_id or ""},
        )
        if status >= 500:
            raise StripeUnavailableError(
                code="billing.stripe_unavailable", message="Stripe can't be reached right now. Try again in a minute."
            ) from exc
        raise StripeRequestError(
            code="billing.stripe_refused",
            message="Stripe refused the request. Contact support if this persists.",
            extra={"stripe_code": exc.code or "", "stripe_message": str(exc.user_message or "")[:300]},
        ) from exc


def as_dict(obj: Any) -> dict[str, Any]:
    """A Stripe object (or a webhook's ``data.object``) as plain nested dicts."""
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict()
    return dict(obj or {})

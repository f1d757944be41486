from __future__ import annotations

from shared_apps.core.exceptions import (
    ApplicationError,
    InvalidStateError,
    PermissionDeniedError,
    RetryableProviderError,
)


class PlanLimitError(PermissionDeniedError):
    """Adding this would go beyond the team's plan (``billing.plan_limit``), or the team is read-only
    (``billing.read_only``). ``extra["upgrade_url"]`` is the team's billing page."""


class BillingOffError(InvalidStateError):
    """Billing is not configured on this installation (no Stripe keys)."""


class StripeUnavailableError(RetryableProviderError):
    """Stripe could not be reached or answered with a server error; trying again later may work."""


class StripeRequestError(ApplicationError):
    """Stripe refused a request (bad configuration, e.g. an unknown price id)."""

    status_code = 502

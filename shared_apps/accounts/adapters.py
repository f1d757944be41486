from __future__ import annotations

import hashlib
import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from shared_apps.core.ratelimit import client_ip

logger = logging.getLogger("shared_apps.accounts.security")


def _ident_digest(value: str) -> str:
    """Logs carry a digest of the login identifier, never the address itself (it may not even be an account)."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:16]


class AccountAdapter(DefaultAccountAdapter):
    """Signup and login happen on the apex only; team hosts hand users over with a signed token.

    Failed and throttled logins are logged as ``login.failed`` / ``login.throttled`` (allauth's ``login_failed``
    rate limit does the throttling); the messages users see are the same whether or not the address exists.
    """

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        tenant = getattr(request, "tenant", None)
        return tenant is None or tenant.is_public

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            logger.warning(
                "login.throttled",
                extra={"ip": client_ip(request), "login": _ident_digest(str(credentials.get("email", "")))},
            )
            raise

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        logger.warning(
            "login.failed", extra={"ip": client_ip(request), "login": _ident_digest(str(credentials.get("email", "")))}
        )

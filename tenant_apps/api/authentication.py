"""DRF authentication by team API key: ``Authorization: Bearer <prefix>.<secret>`` or ``X-Api-Key: <...>``.

The key is looked up in the schema of the host's team, so a key of team B presented on team A's host simply does
not exist there (401). ``request.user`` becomes an ``ApiKeyPrincipal`` (authenticated, not a person) and
``request.auth`` the ``ApiKey``, which ``tenants.api.TeamRolePermission`` reads as a ``TeamCredential``.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from shared_apps.core.ratelimit import client_ip
from tenant_apps.api.models import ApiKey
from tenant_apps.api.services import api_key_authenticate

logger = logging.getLogger(__name__)


class ApiKeyPrincipal:
    """``request.user`` for calls made with an API key. Has no ``pk``: services record ``actor=None``."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    email = ""

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return f"API key {self.key.prefix}"


def _raw_key(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.META.get("HTTP_X_API_KEY") or None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        raw = _raw_key(request)
        if raw is None:
            return None  # no key: let session authentication try
        team = getattr(request, "tenant", None)
        if team is None or team.is_public:
            raise exceptions.AuthenticationFailed("Use API keys on your team's own host.")
        key = api_key_authenticate(raw=raw)
        if key is None:
            logger.warning("api_key.rejected", extra={"ip": client_ip(request)})
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

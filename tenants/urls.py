"""Absolute URLs for the apex and for team hosts. Never derive a host from a schema name."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse


def _origin(host: str) -> str:
    port = settings.SITE_PORT
    default = 443 if settings.SITE_SCHEME == "https" else 80
    suffix = f":{port}" if port and port != default else ""
    return f"{settings.SITE_SCHEME}://{host}{suffix}"


def apex_url(path: str = "/") -> str:
    return _origin(settings.BASE_DOMAIN) + path


def team_origin(team: Any) -> str:
    return _origin(team_host(team))


def team_host(team: Any) -> str:
    return f"{team.slug}.{settings.BASE_DOMAIN}"


def team_url(team: Any, path: str = "/") -> str:
    return team_origin(team) + path


def public_reverse(name: str, **kwargs: Any) -> str:
    """reverse() against the public URL conf (``reverse`` outside a request uses the tenant one)."""
    return reverse(name, urlconf=settings.PUBLIC_SCHEMA_URLCONF, kwargs=kwargs or None)

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tenants.urls import apex_url


def team(request: HttpRequest) -> dict[str, Any]:
    """Every template sees the team being served (None on the apex), the member's role and the apex URL."""
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    return {
        "team": None if tenant is None or tenant.is_public else tenant,
        "membership": membership,
        "apex_url": apex_url("/"),
        "site_name": settings.SITE_NAME,
    }

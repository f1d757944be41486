from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tenants.enums import Role
from tenants.urls import apex_url


def team(request: HttpRequest) -> dict[str, Any]:
    """Every template sees the team being served (None on the apex), the member's role and the apex URL.

    ``team_role`` and the ``is_team_*`` flags only decide what to *show*; access is enforced by the views'
    declared policies (tenants.access), never by templates.
    """
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    role = membership.role_enum if membership is not None else None
    return {
        "team": None if tenant is None or tenant.is_public else tenant,
        "membership": membership,
        "team_role": role,
        "is_team_admin": role is not None and role.at_least(Role.ADMIN),
        "is_team_owner": role == Role.OWNER,
        "apex_url": apex_url("/"),
        "site_name": settings.SITE_NAME,
        "base_domain": settings.BASE_DOMAIN,
    }

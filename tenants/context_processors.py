from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from tenants.enums import Role
from tenants.urls import apex_url

# The sidebar entry each team page belongs to, by URL name (first matching prefix wins). By name, not by path:
# the chat page lives under /chat/ but belongs to Chatbots; API keys and the audit log are team settings.
NAV_SECTIONS = (
    ("team_home", "home"),
    ("chatbots:consent_form", "consent_forms"),
    ("chatbots:", "chatbots"),
    ("conversations:chat", "chatbots"),
    ("conversations:", "sessions"),
    ("providers:", "providers"),
    ("team:member", "members"),
    ("team:invitation", "members"),
    ("team:", "settings"),
    ("api:", "settings"),
    ("audit:", "settings"),
)


def nav_section(request: HttpRequest) -> str:
    match = getattr(request, "resolver_match", None)
    name = match.view_name if match is not None else ""
    return next((section for prefix, section in NAV_SECTIONS if name.startswith(prefix)), "")


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
        "nav_section": nav_section(request),
        "apex_url": apex_url("/"),
        "site_name": settings.SITE_NAME,
        "base_domain": settings.BASE_DOMAIN,
    }

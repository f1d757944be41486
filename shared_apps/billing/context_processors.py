from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tenants.enums import Role


def billing(request: HttpRequest) -> dict[str, Any]:
    """``billing_banners`` on team pages for members: payment trouble, and spend at 80 % of a cap for owners.

    Lazy: computed only when a template shows it (the app layout does; htmx partials do not)."""
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    if tenant is None or tenant.is_public or membership is None:
        return {}

    def banners() -> list[Any]:
        from shared_apps.billing.selectors import billing_banners

        role = membership.role_enum
        return billing_banners(team=tenant, is_admin=role.at_least(Role.ADMIN), is_owner=role == Role.OWNER)

    return {"billing_banners": SimpleLazyObject(banners)}

"""Who may reach a view on a team host: declared on the view, enforced in one place (``TeamMemberMiddleware``).

Every view served on a team host has an access policy:

* ``members(role)`` (the default, with ``Role.VIEWER``): a logged-in member whose role is at least ``role``.
  Anyone else gets the same 404 a missing page gets, so a team's pages cannot be probed from outside.
* ``open_access``: reachable without membership (login handoff, public chat links, health checks).
* ``api_access``: authenticated by the API layer itself (team API keys).
* ``channel_access``: a channel's inbound endpoint, authenticated by the channel itself (a widget's embed key and
  allowed origins or session token, a signed request); another team's or an unknown object answers 404.

``tests/architecture/test_view_access.py`` walks the tenant URL conf and the cross-team probe in
``tests/tenants/test_cross_team.py`` requests every URL as an outsider.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from tenants.enums import Role

F = TypeVar("F", bound=Callable[..., Any])

OPEN = "open"
API = "api"
CHANNEL = "channel"
MEMBERS = "members"


def members(role: Role = Role.VIEWER) -> Callable[[F], F]:
    """Decorator for function views: members with at least ``role``."""

    def decorate(view: F) -> F:
        view.team_access = MEMBERS  # type: ignore[attr-defined]
        view.required_role = role  # type: ignore[attr-defined]
        return view

    return decorate


def open_access(view: F) -> F:
    view.team_access = OPEN  # type: ignore[attr-defined]
    return view


def api_access(view: F) -> F:
    view.team_access = API  # type: ignore[attr-defined]
    return view


def channel_access(view: F) -> F:
    view.team_access = CHANNEL  # type: ignore[attr-defined]
    return view


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def view_policy(view: Any, method: str | None = None) -> tuple[str, Role]:
    """The (access, minimum role) declared by a view function, class-based view or DRF view instance.

    With ``method``, an unsafe method (POST, PUT, PATCH, DELETE) needs the higher of ``required_role`` and the
    view's optional ``write_role``.
    """
    target: Any = getattr(view, "view_class", None) or getattr(view, "cls", None) or view
    access = str(getattr(view, "team_access", None) or getattr(target, "team_access", MEMBERS))
    role = Role(str(getattr(view, "required_role", None) or getattr(target, "required_role", Role.VIEWER)))
    if method is not None and method.upper() not in SAFE_METHODS:
        write = getattr(view, "write_role", None) or getattr(target, "write_role", None)
        if write is not None and Role(str(write)).rank > role.rank:
            role = Role(str(write))
    return access, role


class MemberAccessMixin:
    """For class-based views: set ``required_role`` (default viewer); ``write_role`` guards unsafe methods."""

    team_access = MEMBERS
    required_role: Role = Role.VIEWER
    write_role: Role | None = None

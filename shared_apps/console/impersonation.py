"""Staff visiting a team read-only (ADR 0130).

The visit starts on the apex console (``services.impersonation_start``), which hands the browser to the team
host with a signed one-time token (``enter_token_create``); ``enter_view`` on the team host redeems it, logs the
staff member in on that host and remembers the visit in the session. From then on ``TeamMemberMiddleware``
asks ``membership_for_visit`` (settings.TEAM_ACCESS_FALLBACK) when the user is not a member:

* the visit must be open, for this team, and the user still active staff;
* only GET/HEAD pass (read-only): anything else answers 403 with a clear page;
* every request is recorded (``impersonation_request_record``);
* the staff member is treated as a viewer, and every page shows the visit banner with its "End" button.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from shared_apps.console.models import Impersonation
from shared_apps.core.redis import get_redis, key
from tenants.enums import Role
from tenants.models import Membership, Team

SESSION_KEY = "_console_impersonation"
ENTER_MAX_AGE = 60
_SALT = "console.impersonation"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class EnterError(Exception):
    pass


def enter_token_create(*, impersonation: Impersonation) -> str:
    nonce = secrets.token_urlsafe(16)
    get_redis().set(key("impersonation", nonce), "1", ex=ENTER_MAX_AGE, nx=True)
    return signing.dumps({"i": impersonation.pk, "t": impersonation.team_id, "n": nonce}, salt=_SALT)


def enter_token_redeem(*, token: str, team_id: int) -> Impersonation:
    try:
        payload = signing.loads(token, salt=_SALT, max_age=ENTER_MAX_AGE)
    except signing.BadSignature as exc:
        raise EnterError("bad_token") from exc
    if payload.get("t") != team_id:
        raise EnterError("wrong_team")
    if not get_redis().delete(key("impersonation", payload["n"])):
        raise EnterError("already_used")
    impersonation = Impersonation.objects.select_related("staff", "team").filter(pk=payload["i"]).first()
    if impersonation is None or not impersonation.is_open or not impersonation.staff.is_staff:
        raise EnterError("closed")
    return impersonation


def visit_of(request: HttpRequest, team: Team) -> Impersonation | None:
    """The open visit this session holds for ``team`` (one primary-key query, only for non-members)."""
    visit_id = request.session.get(SESSION_KEY)
    if not visit_id:
        return None
    visit = Impersonation.objects.select_related("staff", "team").filter(pk=visit_id).first()
    user = request.user
    if (
        visit is None
        or not visit.is_open
        or visit.team_id != team.pk
        or visit.staff_id != user.pk
        or not (user.is_active and user.is_staff)
    ):
        return None
    return visit


def membership_for_visit(request: HttpRequest, team: Team, view_func: Any) -> Membership | None:
    """``TEAM_ACCESS_FALLBACK``: a viewer membership (not saved) for a staff member on an open visit."""
    from shared_apps.console.services import impersonation_request_record

    visit = visit_of(request, team)
    if visit is None:
        return None
    request.impersonation = visit  # type: ignore[attr-defined]
    if request.method not in READ_ONLY_METHODS:
        impersonation_request_record(impersonation=visit, method=request.method or "", path=request.path, status=403)
        raise PermissionDenied("A staff visit is read-only.")
    impersonation_request_record(impersonation=visit, method=request.method or "", path=request.path, status=200)
    return Membership(user=visit.staff, team=team, role=Role.VIEWER)

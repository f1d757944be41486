"""The DRF side of the one access mechanism (``tenants.access``): APIs declare ``required_role`` like pages do.

Team APIs are ``api_access`` for the middleware (which leaves authentication to DRF) and use
``TeamRolePermission``, which reads the same declaration and answers for two kinds of caller:

* a logged-in member (session): their membership role must reach the required role; a non-member, or a member
  below the role, gets 404 exactly as on pages;
* a team API key (``request.auth`` is a ``TeamCredential``): the key's role must reach the required role, and a
  read-only key is refused any unsafe method (403 ``api_key.read_only``).

On the apex (no team) it only requires an authenticated user.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from shared_apps.core.exceptions import PermissionDeniedError
from tenants.access import SAFE_METHODS, view_policy
from tenants.enums import Role
from tenants.selectors import membership_for

if TYPE_CHECKING:
    from rest_framework.views import APIView


@runtime_checkable
class TeamCredential(Protocol):
    """What a non-user credential (a team API key) tells the permission check."""

    read_only: bool

    @property
    def team_role(self) -> Role: ...


class TeamRolePermission(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        team = getattr(request, "tenant", None)
        user = request.user
        if team is None or team.is_public:
            return bool(user and user.is_authenticated)
        _access, role = view_policy(view, request.method)
        credential = request.auth
        if isinstance(credential, TeamCredential):
            if request.method not in SAFE_METHODS and credential.read_only:
                raise PermissionDeniedError(code="api_key.read_only", message="This API key is read-only.")
            if not credential.team_role.at_least(role):
                raise PermissionDeniedError(
                    code="api_key.insufficient_role", message="API keys cannot perform this action."
                )
            return True
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        membership = membership_for(user_id=int(user.pk), team_id=team.pk)
        if membership is None or not membership.role_enum.at_least(role):
            raise exceptions.NotFound()
        request._request.membership = membership  # type: ignore[attr-defined]
        return True

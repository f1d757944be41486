"""Base class for team-host APIs (see ``tenants.permissions`` for how they are authorized)."""

from __future__ import annotations

from rest_framework.views import APIView

from tenants.access import API
from tenants.enums import Role
from tenants.permissions import TeamRolePermission


class TeamApiView(APIView):
    """Base for team-host APIs: authenticated by DRF (API key or session), authorized by ``required_role``."""

    team_access = API
    required_role: Role = Role.VIEWER
    write_role: Role | None = None
    permission_classes = [TeamRolePermission]

"""The management API's first endpoint: who am I (which team, which credential)."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tenant_apps.api.models import ApiKey
from tenants.api import TeamApiView
from tenants.enums import Role


class MeApi(TeamApiView):
    """``GET /api/v1/me/``: the team this host serves and the credential used (key or member session)."""

    required_role = Role.VIEWER

    class OutputSerializer(serializers.Serializer):
        team = serializers.DictField()
        auth = serializers.DictField()

    def get(self, request: Request) -> Response:
        team = request.tenant  # type: ignore[attr-defined]
        if isinstance(request.auth, ApiKey):
            key = request.auth
            auth = {
                "type": "api_key",
                "name": key.name,
                "prefix": key.prefix,
                "read_only": key.read_only,
                "role": key.team_role.value,
            }
        else:
            membership = request._request.membership  # type: ignore[attr-defined]
            auth = {"type": "session", "email": getattr(request.user, "email", ""), "role": membership.role}
        data = {"team": {"slug": team.slug, "name": team.name}, "auth": auth}
        return Response(self.OutputSerializer(data).data)

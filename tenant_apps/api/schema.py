"""The schema, Swagger UI and Redoc views (assets from ``drf_spectacular_sidecar``: served locally, no CDN).

Open to anyone (``open_access``, no authentication): they describe the API's code, never a team's data."""

from __future__ import annotations

from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.permissions import AllowAny

from tenants.access import OPEN


class SchemaApi(SpectacularAPIView):
    """``GET /api/schema/``: the OpenAPI document (YAML; ``?format=json`` for JSON)."""

    team_access = OPEN
    authentication_classes = ()
    permission_classes = (AllowAny,)


class SwaggerUiView(SpectacularSwaggerView):
    team_access = OPEN
    authentication_classes = ()
    permission_classes = (AllowAny,)


class RedocView(SpectacularRedocView):
    team_access = OPEN
    authentication_classes = ()
    permission_classes = (AllowAny,)

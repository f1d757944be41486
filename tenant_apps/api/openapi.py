"""OpenAPI 3 (drf-spectacular) for the team-host APIs: which paths it covers, how keys authenticate, the shared
error shapes and how our thin views are described (``ApiAutoSchema``, the DRF ``DEFAULT_SCHEMA_CLASS``)."""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

API_PREFIXES = ("/api/v1/", "/api/openai/")


def only_api_paths(endpoints: list[tuple[str, str, str, Any]], **_kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """The public API only (not the pipeline editor's internal JSON endpoints)."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(API_PREFIXES)]


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "tenant_apps.api.authentication.ApiKeyAuthentication"
    name = ["bearerAuth", "apiKeyAuth"]

    def get_security_definition(self, auto_schema: Any) -> list[dict[str, Any]]:
        return [
            {"type": "http", "scheme": "bearer", "description": "A team API key: `Bearer <prefix>.<secret>`."},
            {"type": "apiKey", "in": "header", "name": "X-Api-Key", "description": "A team API key."},
        ]


class ErrorSerializer(serializers.Serializer):
    """Every management API error (``shared_apps.core.api``)."""

    code = serializers.CharField(help_text='Stable, e.g. "chatbot.not_found", "request.throttled".')
    message = serializers.CharField()
    extra = serializers.DictField()


class OpenAIErrorBodySerializer(serializers.Serializer):
    message = serializers.CharField()
    type = serializers.CharField()
    param = serializers.CharField(allow_null=True)
    code = serializers.CharField(allow_null=True)


class OpenAIErrorSerializer(serializers.Serializer):
    """Errors of the OpenAI-compatible endpoint, in OpenAI's shape (clients raise their usual exceptions)."""

    error = OpenAIErrorBodySerializer()


ERROR_STATUSES = (400, 401, 403, 404, 409, 422, 429)


@functools.cache
def page_serializer(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """``{"next", "previous", "results": [item]}``: one page of a cursor-paginated list (ADR 0110)."""
    name = item.__name__.removesuffix("Serializer") + "PageSerializer"
    fields = {
        "next": serializers.CharField(allow_null=True, help_text="The next page's URL; null on the last page."),
        "previous": serializers.CharField(allow_null=True),
        "results": item(many=True),
    }
    attrs = {**fields, "__module__": item.__module__, "__qualname__": name, "__doc__": page_serializer.__doc__}
    return type(name, (serializers.Serializer,), attrs)


class ApiAutoSchema(AutoSchema):
    """Our views are thin ``APIView``s with nested ``InputSerializer``/``UpdateSerializer`` (HackSoft style): the
    request body is the nested serializer of the method; the answer the view's ``output_serializer`` where it
    declares one (a page of them for ``GET`` when ``output_paginated``), else a JSON object (documented per resource
    in docs/api.md); every error the shared error shape. Operation ids come from the view and method."""

    def _get_serializer(self) -> Any:
        return None  # no "unable to guess serializer": bodies are declared below

    def get_request_serializer(self) -> Any:
        view = self.view
        if self.method in ("PATCH",) and hasattr(view, "UpdateSerializer"):
            return view.UpdateSerializer
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            return getattr(view, "InputSerializer", None)
        return None

    def get_response_serializers(self) -> Any:
        openai = self.path.startswith("/api/openai/")
        error = OpenAIErrorSerializer if openai else ErrorSerializer
        output = getattr(self.view, "output_serializer", None) or OpenApiTypes.OBJECT
        if self.method == "GET" and getattr(self.view, "output_paginated", False):
            output = page_serializer(output) if output is not OpenApiTypes.OBJECT else output
        if self.method == "DELETE" and not hasattr(self.view, "InputSerializer"):
            success: dict[int, Any] = {204: None}
        elif self.method == "POST" and getattr(self.view, "idempotent", False):
            success = {201: output}
        else:
            success = {200: output}
        return {**success, **dict.fromkeys(ERROR_STATUSES, error)}

    def get_override_parameters(self) -> list[Any]:
        """A paginated list's ``cursor``, ``page_size`` and ``ordering`` (ADR 0110), before the view's own filters
        (``extend_schema(parameters=...)`` on the method)."""
        parameters = list(super().get_override_parameters())
        view = self.view
        if self.method != "GET" or not getattr(view, "output_paginated", False):
            return parameters
        conventions = [
            OpenApiParameter("cursor", str, description="The opaque cursor of a `next`/`previous` link."),
            OpenApiParameter(
                "page_size", {"type": "integer", "minimum": 1, "maximum": 100}, description="Default 50, at most 100."
            ),
        ]
        fields = tuple(getattr(view, "ordering_fields", ()))
        if fields:
            choices = [*fields, *(f"-{name}" for name in fields)]
            conventions.append(OpenApiParameter("ordering", str, enum=choices, description="`-` for descending."))
        return conventions + parameters

    def get_operation_id(self) -> str:
        name = type(self.view).__name__.removesuffix("Api")
        pinned = "_pinned" if "v{number}" in self.path else ""
        return f"{name}{pinned}_{self.method.lower()}"

    def _get_serializer_name(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> str:
        """Nested serializers are named after their view (``ChatbotListInputRequest``), not just ``Input``."""
        name = super()._get_serializer_name(serializer, direction, bypass_extensions)
        cls = serializer if isinstance(serializer, type) else type(serializer)
        outer = cls.__qualname__.split(".")[0]
        return outer.removesuffix("Api") + name if outer != cls.__name__ else name

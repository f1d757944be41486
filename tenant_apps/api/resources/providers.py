"""``/api/v1/providers/``: the team's LLM providers. Secrets are write-only: answers show only masked hints.

Writes go through ``providers.services`` (the same validation, SSRF check of URLs, encryption and audit as the
pages). A secret left out of a ``PATCH`` keeps its stored value.
"""

from __future__ import annotations

from typing import Any

from django.views.decorators.debug import sensitive_variables
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tenant_apps.api.conventions import ResourceApiView
from tenant_apps.providers import selectors, services
from tenant_apps.providers.enums import ProviderKind
from tenant_apps.providers.models import ProviderBase
from tenant_apps.providers.specs import type_specs
from tenants.enums import Role

MAX_FIELDS = 20


def _fields(**kwargs: Any) -> serializers.DictField:
    """A flat object of short strings (a provider's settings or secrets), at most ``MAX_FIELDS`` of them."""

    def bounded(value: dict[str, Any]) -> None:
        if len(value) > MAX_FIELDS:
            raise serializers.ValidationError(f"At most {MAX_FIELDS} fields.")

    return serializers.DictField(
        child=serializers.CharField(max_length=2000, allow_blank=True), validators=[bounded], **kwargs
    )


class ProviderOutputSerializer(serializers.Serializer):
    """An LLM provider (``provider_payload``): its settings and masked hints of its secrets, never a secret."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField()
    config = serializers.DictField()
    secrets = serializers.DictField(child=serializers.CharField(), help_text='Masked hints, e.g. "sk-…9f2a".')
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def provider_payload(provider: ProviderBase) -> dict[str, Any]:
    return {
        "id": provider.pk,
        "name": provider.name,
        "type": provider.type,
        "config": provider.config,
        "secrets": dict(provider.credential_hints or {}),  # masked hints ("sk-…9f2a"), never a value
        "created_at": provider.created_at.isoformat(),
        "updated_at": provider.updated_at.isoformat(),
    }


def _actor(request: Request) -> Any:
    return request.user if getattr(request.user, "pk", None) else None


class ProviderListApi(ResourceApiView):
    """``GET``: LLM providers. ``POST {"type", "name", "config", "secrets"}``: add one (``GET
    /api/v1/providers/types/`` lists the types and their fields)."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR
    ordering_fields = ("name", "created_at")
    idempotent = True
    output_serializer = ProviderOutputSerializer
    output_paginated = True

    class InputSerializer(serializers.Serializer):
        type = serializers.CharField(max_length=40)
        name = serializers.CharField(max_length=100)
        config = _fields(required=False, default=dict)
        secrets = _fields(required=False, default=dict, write_only=True)

    def get(self, request: Request) -> Response:
        return self.paginated(request, self.ordered(request, selectors.llm_provider_list()), provider_payload)

    @sensitive_variables("data")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        provider = services.provider_create(
            kind=ProviderKind.LLM,
            type=data["type"],
            name=data["name"],
            config=data["config"],
            secrets=data["secrets"],
            user=_actor(request),
        )
        return Response(provider_payload(provider), status=201)


class ProviderTypeListApi(ResourceApiView):
    """``GET``: the LLM provider types a team can add, with their settings and secret fields."""

    required_role = Role.VIEWER

    def get(self, request: Request) -> Response:
        types = [
            {
                "type": spec.slug,
                "label": spec.label,
                "config": [field.name for field in spec.settings_fields],
                "secrets": [field.name for field in spec.secret_fields],
            }
            for spec in type_specs(ProviderKind.LLM)
        ]
        return Response({"types": types})


class ProviderDetailApi(ResourceApiView):
    """``GET`` one provider; ``PATCH`` its name, settings or secrets; ``DELETE`` it (409 while in use)."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR
    output_serializer = ProviderOutputSerializer

    class UpdateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100, required=False)
        config = _fields(required=False)
        secrets = _fields(required=False, write_only=True)

    def get(self, request: Request, pk: int) -> Response:
        return Response(provider_payload(selectors.provider_get(kind=ProviderKind.LLM, provider_id=pk)))

    @sensitive_variables("data")
    def patch(self, request: Request, pk: int) -> Response:
        provider = selectors.provider_get(kind=ProviderKind.LLM, provider_id=pk)
        serializer = self.UpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "name" in data:
            provider = services.provider_rename(provider=provider, name=data["name"], user=_actor(request))
        if "config" in data or "secrets" in data:
            provider = services.provider_replace_credentials(
                provider=provider,
                config={**provider.config, **data.get("config", {})},
                secrets=data.get("secrets", {}),
                user=_actor(request),
            )
        return Response(provider_payload(selectors.provider_get(kind=ProviderKind.LLM, provider_id=pk)))

    def delete(self, request: Request, pk: int) -> Response:
        provider = selectors.provider_get(kind=ProviderKind.LLM, provider_id=pk)
        services.provider_delete(provider=provider, user=_actor(request))
        return Response(status=204)

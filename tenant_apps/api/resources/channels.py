"""``/api/v1/chatbots/<id>/channels/``: a chatbot's channels (the embeddable widget: its embed key, allowed
domains and auth level; custom API channels: their callback URL). Writes through ``channels.services`` (the same
validation, plan limit, apex route and audit as the Channels tab). Signing secrets are never returned."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from shared_apps.core.exceptions import NotFoundError
from tenant_apps.api.conventions import ResourceApiView
from tenant_apps.channels import selectors, services
from tenant_apps.channels.enums import ChannelKind, WidgetAuthLevel
from tenant_apps.channels.models import Channel
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenants.enums import Role


def _actor(request: Request) -> Any:
    return request.user if getattr(request.user, "pk", None) else None


class ChannelOutputSerializer(serializers.Serializer):
    """A channel (``channel_payload``); signing secrets are never returned."""

    id = serializers.IntegerField()
    public_id = serializers.UUIDField()
    chatbot_id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ChannelKind.choices)
    name = serializers.CharField()
    enabled = serializers.BooleanField()
    disabled_message = serializers.CharField(allow_blank=True)
    config = serializers.DictField()
    embed_key = serializers.CharField(allow_null=True, help_text="The widget's embed key; null for other kinds.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def channel_payload(channel: Channel) -> dict[str, Any]:
    return {
        "id": channel.pk,
        "public_id": str(channel.public_id),
        "chatbot_id": channel.chatbot_id,
        "kind": channel.kind,
        "name": channel.name,
        "enabled": channel.enabled,
        "disabled_message": channel.disabled_message,
        "config": channel.config,
        "embed_key": channel.embed_key if channel.kind == ChannelKind.WIDGET else None,
        "created_at": channel.created_at.isoformat(),
        "updated_at": channel.updated_at.isoformat(),
    }


class _ConfigSerializer(serializers.Serializer):
    allowed_domains = serializers.ListField(child=serializers.CharField(max_length=253), required=False, max_length=200)
    auth_level = serializers.ChoiceField(choices=WidgetAuthLevel.values, required=False)
    callback_url = serializers.CharField(max_length=2000, required=False, allow_blank=True)


def _channel(chatbot_id: int, channel_id: int) -> Channel:
    chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
    channel = selectors.channel_get(channel_id=channel_id)
    if channel.chatbot_id != chatbot_id:
        raise NotFoundError(code="channel.not_found", message="No such channel.")
    return channel


class ChannelListApi(ResourceApiView):
    """``GET``: the chatbot's channels. ``POST {"kind", "name", "config"?, "disabled_message"?}``: add one."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR
    idempotent = True
    ordering_fields = ("created_at", "name")
    output_serializer = ChannelOutputSerializer
    output_paginated = True

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=ChannelKind.values)
        name = serializers.CharField(max_length=120)
        config = _ConfigSerializer(required=False)
        disabled_message = serializers.CharField(max_length=500, required=False)

    def get(self, request: Request, chatbot_id: int) -> Response:
        chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
        queryset = self.ordered(request, selectors.channel_list(chatbot_id=chatbot_id))
        return self.paginated(request, queryset, channel_payload)

    def post(self, request: Request, chatbot_id: int) -> Response:
        chatbot = chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        extra = {"disabled_message": data["disabled_message"]} if "disabled_message" in data else {}
        channel = services.channel_create(
            chatbot=chatbot,
            kind=data["kind"],
            name=data["name"],
            config=data.get("config") or {},
            user=_actor(request),
            **extra,
        )
        return Response(channel_payload(channel), status=201)


class ChannelDetailApi(ResourceApiView):
    """``GET`` one channel; ``PATCH {"name"?, "disabled_message"?, "enabled"?, "config"?}``; ``DELETE`` it."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR
    output_serializer = ChannelOutputSerializer

    class UpdateSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120, required=False)
        disabled_message = serializers.CharField(max_length=500, required=False, allow_blank=True)
        enabled = serializers.BooleanField(required=False)
        config = _ConfigSerializer(required=False)

    def get(self, request: Request, chatbot_id: int, channel_id: int) -> Response:
        return Response(channel_payload(_channel(chatbot_id, channel_id)))

    def patch(self, request: Request, chatbot_id: int, channel_id: int) -> Response:
        channel = _channel(chatbot_id, channel_id)
        serializer = self.UpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if {"name", "disabled_message", "config"} & set(data):
            channel = services.channel_update(
                channel=channel,
                name=data.get("name", channel.name),
                disabled_message=data.get("disabled_message", channel.disabled_message),
                config=data.get("config") or {},
                user=_actor(request),
            )
        if "enabled" in data and data["enabled"] != channel.enabled:
            channel = services.channel_set_enabled(channel=channel, enabled=data["enabled"], user=_actor(request))
        return Response(channel_payload(channel))

    def delete(self, request: Request, chatbot_id: int, channel_id: int) -> Response:
        services.channel_delete(channel=_channel(chatbot_id, channel_id), user=_actor(request))
        return Response(status=204)


class ChannelKeyRotateApi(ResourceApiView):
    """``POST``: a widget channel gets a new embed key; the old one is refused from the next request on."""

    required_role = Role.EDITOR
    output_serializer = ChannelOutputSerializer

    def post(self, request: Request, chatbot_id: int, channel_id: int) -> Response:
        channel = services.widget_key_rotate(channel=_channel(chatbot_id, channel_id), user=_actor(request))
        return Response(channel_payload(channel))

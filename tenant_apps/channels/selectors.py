"""Reads of channels and their deliveries (no team filter: the schema is the team)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from shared_apps.core.exceptions import NotFoundError
from shared_apps.core.prepared import as_uuid
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.models import Channel, ChannelSession, Delivery


def channel_list(*, chatbot_id: int | None = None) -> QuerySet[Channel]:
    qs = Channel.objects.select_related("chatbot").order_by("chatbot__name", "name", "id")
    return qs.filter(chatbot_id=chatbot_id) if chatbot_id else qs


def channel_get(*, channel_id: int) -> Channel:
    channel = Channel.objects.select_related("chatbot").filter(pk=channel_id).first()
    if channel is None:
        raise NotFoundError(code="channel.not_found", message="No such channel.")
    return channel


def channel_by_public_id(*, public_id: Any, kind: str | None = None) -> Channel | None:
    """A channel by its public id (the custom API's URL), with its chatbot and published version."""
    uid = as_uuid(public_id)
    if uid is None:
        return None
    qs = Channel.objects.select_related("chatbot__published_version").filter(public_id=uid)
    return (qs.filter(kind=kind) if kind else qs).first()


def channel_with_bot(*, channel_id: int, kind: str | None = None) -> Channel | None:
    """A channel with its chatbot, published version and provider (a webhook's one read of it)."""
    qs = Channel.objects.select_related("chatbot__published_version", "provider").filter(pk=channel_id)
    return (qs.filter(kind=kind) if kind else qs).first()


def widget_channel_for(*, chatbot_public_id: Any, embed_key: str | None) -> Channel | None:
    """The widget channel of the chatbot ``chatbot_public_id`` whose embed key is ``embed_key``; without a key, its
    first widget channel that needs none (auth level NONE). One query."""
    uid = as_uuid(chatbot_public_id)
    if uid is None:
        return None
    qs = Channel.objects.select_related("chatbot__published_version").filter(
        kind=ChannelKind.WIDGET, chatbot__public_id=uid, chatbot__archived_at__isnull=True
    )
    if embed_key:
        return qs.filter(embed_key=embed_key).first()
    return qs.filter(config__auth_level=0).order_by("id").first()


def channel_session_get(*, session_external_id: Any) -> ChannelSession | None:
    """A channel-started session with its channel, chatbot, version and participant: one query (every widget
    session call starts here)."""
    uid = as_uuid(session_external_id)
    if uid is None:
        return None
    return (
        ChannelSession.objects.select_related("channel", "session__chatbot", "session__version", "session__participant")
        .filter(session__external_id=uid)
        .first()
    )


def channel_for_session(*, session_id: int) -> Channel | None:
    link = ChannelSession.objects.select_related("channel").filter(session_id=session_id).first()
    return link.channel if link else None


def delivery_list(*, channel: Channel, limit: int = 20) -> list[Delivery]:
    return list(channel.deliveries.select_related("message__session").order_by("-created_at", "-id")[:limit])


def delivery_get(*, message_id: int) -> Delivery | None:
    return Delivery.objects.select_related("channel", "message__session").filter(message_id=message_id).first()


def channel_provider_usage(provider: Any) -> list[str]:
    """Names of the channels that send with this messaging provider (the providers app's delete guard)."""
    if getattr(provider, "kind", None) != "messaging":
        return []
    used = Channel.objects.filter(provider_id=provider.pk).select_related("chatbot").order_by("name", "id")
    return [f"Channel “{channel.name}” of {channel.chatbot.name}" for channel in used]

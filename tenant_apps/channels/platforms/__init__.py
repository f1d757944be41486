"""Messaging platforms as channels (issue 13, ADR 0102): each platform module describes itself with a
``ChannelPlatform`` and registers it here; services, outbound, senders and views ask the registry, never a platform
module by name.

A platform module owns its inbound webhook view (verify the platform's signature over the raw body → store through
``channels.inbound`` → acknowledge), its sender (one reply out through the platform's API, raising
``outbound.TransientSendError`` for what is worth retrying) and its setup page fragment.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django import forms

    from tenant_apps.channels.models import Channel
    from tenant_apps.conversations.models import ChatMessage


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str


def _no_fields() -> dict[str, forms.Field]:
    return {}


def _no_route(channel: Channel) -> str | None:
    return None


def _nothing(channel: Channel) -> None:
    return None


@dataclass(frozen=True)
class ChannelPlatform:
    """What the framework needs from one platform.

    ``config_clean(config) -> dict``: the channel's non-secret settings, validated (``ChannelInvalidError`` naming
    the field). ``secret_fields``: form fields kept sealed in ``Channel.secrets`` (a blank one keeps the stored
    value). ``route_id(channel)``: the platform id routed to this channel on the apex (a ``ChannelRoute`` with
    ``platform=kind``, e.g. a WhatsApp phone_number_id); None: no apex route. ``on_saved`` / ``on_deleted``: calls
    to the platform after a change (Telegram's setWebhook / deleteWebhook), inside the transaction; they raise
    ``ApplicationError`` with a message a builder can act on. ``send(channel, reply)``: one reply out, raising
    ``outbound.TransientSendError`` for what is worth retrying. ``webhook_url(channel, base)``: what the setup page
    shows (``base`` is the team host's origin).
    """

    kind: str
    platform: str  # the conversations Platform of its sessions
    provider_type: str | None  # the MessagingType whose credentials it uses
    config_clean: Callable[[Mapping[str, Any]], dict[str, Any]]
    send: Callable[[Channel, ChatMessage], None]
    webhook_url: Callable[[Channel, str], str]
    setup_template: str  # included in the channel page's Setup card
    form_fields: Callable[[], dict[str, forms.Field]] = _no_fields
    secret_fields: tuple[str, ...] = ()  # form fields stored sealed in ``Channel.secrets``, never shown again
    route_id: Callable[[Channel], str | None] = _no_route
    on_saved: Callable[[Channel], None] = _nothing
    on_deleted: Callable[[Channel], None] = _nothing
    test_connection: Callable[[Channel], ConnectionResult] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


_registry: dict[str, ChannelPlatform] = {}

# The platform modules; each registers its ``ChannelPlatform`` when imported (``load``, from ``ChannelsConfig``).
MODULES: tuple[str, ...] = ("meta", "slack", "telegram", "twilio_messaging")


def load() -> None:
    for name in MODULES:
        importlib.import_module(f"tenant_apps.channels.platforms.{name}")


def platform_register(spec: ChannelPlatform) -> None:
    _registry[spec.kind] = spec


def platform_for(kind: str) -> ChannelPlatform | None:
    """The platform behind a channel kind (None for the widget and the custom API, which the framework serves)."""
    return _registry.get(kind)


def platforms() -> list[ChannelPlatform]:
    return list(_registry.values())

"""Meta's WhatsApp Cloud API and Facebook Messenger, direct (issue 13 point 3; docs/channels/meta.md).

Both use a team's ``meta_cloud_api`` messaging provider (the Meta app's secret, a system-user access token, the
webhook verify token) and one global webhook on the apex each (``webhooks``), routed by the WhatsApp
``phone_number_id`` or the Messenger Page id (``route_id``). A Messenger channel keeps its Page access token
sealed in its own secrets. WhatsApp replies respect the 24-hour customer-service window (``window``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms

from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.exceptions import ChannelInvalidError
from tenant_apps.channels.models import Channel
from tenant_apps.channels.platforms import ChannelPlatform, platform_register
from tenant_apps.channels.platforms.meta import send, webhooks
from tenant_apps.conversations.enums import Platform
from tenant_apps.providers.enums import MessagingType
from tenants.urls import apex_url

_INPUT = {"class": "input w-full"}
_GRAPH_ID = re.compile(r"\d{5,32}")


def _graph_id(config: Mapping[str, Any], name: str, label: str) -> str:
    value = str(config.get(name) or "").strip()
    if value and not _GRAPH_ID.fullmatch(value):
        raise ChannelInvalidError(
            code=f"channel.invalid_{name}",
            message=f"The {label} is the number Meta shows for it (digits only).",
            extra={"field": name},
        )
    return value


def _whatsapp_config_clean(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"phone_number_id": _graph_id(config, "phone_number_id", "phone number ID")}


def _messenger_config_clean(config: Mapping[str, Any]) -> dict[str, Any]:
    return {"page_id": _graph_id(config, "page_id", "Page ID")}


def _whatsapp_fields() -> dict[str, forms.Field]:
    return {
        "phone_number_id": forms.CharField(
            label="Phone number ID",
            required=False,
            max_length=32,
            widget=forms.TextInput(attrs=_INPUT),
            help_text="WhatsApp → API Setup in your Meta app: the “Phone number ID” (not the phone number).",
        )
    }


def _messenger_fields() -> dict[str, forms.Field]:
    return {
        "page_id": forms.CharField(
            label="Page ID",
            required=False,
            max_length=32,
            widget=forms.TextInput(attrs=_INPUT),
            help_text="Your Facebook Page's ID (Page → About → Page transparency, or Messenger → Settings).",
        ),
        "page_access_token": forms.CharField(
            label="Page access token",
            required=False,
            max_length=1000,
            help_text="Messenger → Settings → Access tokens in your Meta app: generate one for the Page.",
        ),
    }


def _route(name: str) -> Any:
    def route_id(channel: Channel) -> str | None:
        return str(channel.config.get(name) or "") or None

    return route_id


def _on_saved(channel: Channel) -> None:
    if channel.config.get("phone_number_id") or channel.config.get("page_id"):
        webhooks.verify_route_set(channel)


def _on_deleted(channel: Channel) -> None:
    """The deleted channel's routes are gone; the team's other Meta channels publish their verify tokens again
    (one of them may have shared the route the deleted channel held)."""
    others = Channel.objects.select_related("provider").filter(kind=channel.kind).exclude(pk=channel.pk)
    for other in others:
        _on_saved(other)


def _webhook_url(path: str) -> Any:
    return lambda channel, base: apex_url(path)


platform_register(
    ChannelPlatform(
        kind=ChannelKind.META_WHATSAPP,
        platform=Platform.WHATSAPP,
        provider_type=MessagingType.META_CLOUD_API,
        config_clean=_whatsapp_config_clean,
        send=send.whatsapp_send,
        webhook_url=_webhook_url("/webhooks/meta/whatsapp/"),
        setup_template="channels/setup/meta_whatsapp.html",
        form_fields=_whatsapp_fields,
        route_id=_route("phone_number_id"),
        on_saved=_on_saved,
        on_deleted=_on_deleted,
        test_connection=send.whatsapp_test,
    )
)
platform_register(
    ChannelPlatform(
        kind=ChannelKind.MESSENGER,
        platform=Platform.MESSENGER,
        provider_type=MessagingType.META_CLOUD_API,
        config_clean=_messenger_config_clean,
        send=send.messenger_send,
        webhook_url=_webhook_url("/webhooks/meta/messenger/"),
        setup_template="channels/setup/messenger.html",
        form_fields=_messenger_fields,
        secret_fields=("page_access_token",),
        route_id=_route("page_id"),
        on_saved=_on_saved,
        on_deleted=_on_deleted,
        test_connection=send.messenger_test,
    )
)

"""Writes of channels: add, configure, enable or disable, delete, rotate keys and secrets; the session link and
delivery records. Every change is audited (names and ids only, never a key or secret)."""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import Mapping
from typing import Any

from django.db import transaction

from shared_apps.billing.enforcement import plan_limit_enforce
from shared_apps.billing.enums import Resource
from shared_apps.core.db import connection
from shared_apps.core.fields import Secrets
from shared_apps.core.http import UnsafeUrlError, validate_public_url
from shared_apps.core.outcomes import outcome_record
from tenant_apps.audit.services import audit_record
from tenant_apps.channels.domains import MAX_DOMAINS, domain_normalise
from tenant_apps.channels.enums import ChannelKind, DeliveryStatus, WidgetAuthLevel
from tenant_apps.channels.exceptions import ChannelInvalidError
from tenant_apps.channels.models import Channel, ChannelSession, Delivery
from tenant_apps.channels.platforms import platform_for
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.providers.models import MessagingProvider
from tenants.selectors import channel_route_taken
from tenants.services.routes import channel_route_delete, channel_route_set

MAX_NAME = 120
MAX_DISABLED_MESSAGE = 500


def _new_embed_key() -> str:
    return pysecrets.token_urlsafe(24)


def _new_signing_secret() -> str:
    return "whsec_" + pysecrets.token_urlsafe(32)


def widget_config_clean(config: Mapping[str, Any]) -> dict[str, Any]:
    """A widget channel's config: ``allowed_domains`` (list or newline/comma separated text; each ``*``, a
    hostname or ``*.domain``), ``auth_level`` (0, 1, 2). Raises ``ChannelInvalidError`` naming the field."""
    raw = config.get("allowed_domains", [])
    entries = raw.replace(",", "\n").splitlines() if isinstance(raw, str) else list(raw or [])
    domains: list[str] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            continue
        value = domain_normalise(entry)
        if value is None:
            raise ChannelInvalidError(
                code="channel.invalid_domain",
                message=f"“{str(entry)[:80]}” is not a domain (use example.com, *.example.com or *).",
                extra={"field": "allowed_domains"},
            )
        if value not in domains:
            domains.append(value)
    if len(domains) > MAX_DOMAINS:
        raise ChannelInvalidError(
            code="channel.too_many_domains",
            message=f"At most {MAX_DOMAINS} allowed domains.",
            extra={"field": "allowed_domains"},
        )
    try:
        level = int(config.get("auth_level", WidgetAuthLevel.EMBED_KEY))
    except (TypeError, ValueError):
        level = -1
    if level not in WidgetAuthLevel.values:
        raise ChannelInvalidError(
            code="channel.invalid_auth_level", message="Choose an auth level.", extra={"field": "auth_level"}
        )
    return {"allowed_domains": domains, "auth_level": level}


def custom_api_config_clean(config: Mapping[str, Any]) -> dict[str, Any]:
    """A custom API channel's config: ``callback_url`` (optional; http(s), a public address)."""
    url = str(config.get("callback_url") or "").strip()
    if url:
        if len(url) > 2000:
            raise ChannelInvalidError(
                code="channel.invalid_callback", message="The URL is too long.", extra={"field": "callback_url"}
            )
        try:
            validate_public_url(url)
        except UnsafeUrlError as exc:
            raise ChannelInvalidError(
                code="channel.invalid_callback", message=exc.message, extra={"field": "callback_url"}
            ) from exc
    return {"callback_url": url}


_CLEANERS = {ChannelKind.WIDGET: widget_config_clean, ChannelKind.CUSTOM_API: custom_api_config_clean}


def _config_clean(kind: str, config: Mapping[str, Any]) -> dict[str, Any]:
    platform = platform_for(kind)
    if platform is not None:
        return platform.config_clean(config)
    cleaner = _CLEANERS.get(ChannelKind(kind))
    if cleaner is None:  # a declared kind whose platform is not registered (yet): refuse, do not crash
        raise ChannelInvalidError(
            code="channel.unsupported_kind", message="This kind of channel cannot be added.", extra={"field": "kind"}
        )
    return cleaner(config)


def _provider_check(kind: str, provider: MessagingProvider | None) -> MessagingProvider | None:
    """A platform channel needs the team's messaging provider of its platform's type; others take none."""
    platform = platform_for(kind)
    if platform is None or platform.provider_type is None:
        return None
    if provider is None or provider.type != platform.provider_type:
        raise ChannelInvalidError(
            code="channel.provider_required",
            message="Choose the messaging provider with this platform's credentials (add one under Providers).",
            extra={"field": "provider"},
        )
    return provider


def _secrets_merge(kind: str, current: Secrets | None, values: Mapping[str, Any]) -> Secrets | None:
    """A platform's write-only secrets from the form: a blank field keeps the stored value."""
    platform = platform_for(kind)
    if platform is None or not platform.secret_fields:
        return None
    stored = dict(current.reveal()) if current else {}
    for name in platform.secret_fields:
        value = str(values.get(name) or "").strip()
        if value:
            stored[name] = value
    return Secrets(stored)


def _clean_texts(name: str, disabled_message: str) -> tuple[str, str]:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ChannelInvalidError(
            code="channel.invalid_name",
            message="Give the channel a name (120 characters max).",
            extra={"field": "name"},
        )
    disabled_message = disabled_message.strip()
    if len(disabled_message) > MAX_DISABLED_MESSAGE:
        raise ChannelInvalidError(
            code="channel.invalid_disabled_message",
            message="The message is too long (500 characters max).",
            extra={"field": "disabled_message"},
        )
    return name, disabled_message


def _route(channel: Channel) -> None:
    """The channel's public route (apex routing, ADR 0100): widgets by embed key, custom APIs by public id, a
    platform channel by the id its platform names it with (a phone_number_id, a page id, a Slack team id)."""
    platform = platform_for(channel.kind)
    if platform is None:
        external_id = channel.embed_key if channel.kind == ChannelKind.WIDGET else str(channel.public_id)
    else:
        external_id = platform.route_id(channel)
    team = connection.tenant
    if not external_id:
        channel_route_delete(team=team, channel_id=channel.pk)
        return
    if channel_route_taken(platform=channel.kind, external_id=str(external_id), team=team, channel_id=channel.pk):
        raise ChannelInvalidError(
            code="channel.route_taken",
            message=f"“{external_id}” is connected to another channel already; remove it there first.",
        )
    channel_route_set(team=team, platform=channel.kind, external_id=str(external_id), channel_id=channel.pk)


@transaction.atomic
def channel_create(
    *,
    chatbot: Chatbot,
    kind: str,
    name: str,
    config: Mapping[str, Any] | None = None,
    disabled_message: str = "This chat is not available right now.",
    provider: MessagingProvider | None = None,
    user: Any = None,
) -> Channel:
    """Add a channel to ``chatbot`` (counts against the plan's channel limit). A widget gets a fresh embed key
    (and allows no site until domains are added); a custom API channel gets a signing secret; a platform channel
    uses ``provider``'s credentials, its own settings and secrets from ``config``, and is announced to its
    platform (``on_saved``) before the transaction commits, so a refusal there adds nothing."""
    if kind not in ChannelKind.values:
        raise ChannelInvalidError(
            code="channel.invalid_kind", message="Choose a channel type.", extra={"field": "kind"}
        )
    plan_limit_enforce(resource=Resource.CHANNELS, current=Channel.objects.count())
    name, disabled_message = _clean_texts(name, disabled_message)
    provider = _provider_check(kind, provider)
    clean = _config_clean(kind, config or {})
    channel = Channel(
        chatbot=chatbot, kind=kind, name=name, config=clean, disabled_message=disabled_message, provider=provider
    )
    if kind == ChannelKind.WIDGET:
        channel.embed_key = _new_embed_key()
    elif kind == ChannelKind.CUSTOM_API:
        channel.secrets = Secrets({"signing_secret": _new_signing_secret()})
    else:
        channel.secrets = _secrets_merge(kind, None, config or {}) or Secrets({})
    channel.created_by = user if getattr(user, "is_authenticated", False) else None
    channel.save()
    _route(channel)
    if (platform := platform_for(kind)) is not None:
        platform.on_saved(channel)
    audit_record(actor=user, action="channel.created", target=channel, data={"kind": kind, "chatbot_id": chatbot.pk})
    return channel


@transaction.atomic
def channel_update(
    *, channel: Channel, name: str, disabled_message: str, config: Mapping[str, Any], user: Any = None
) -> Channel:
    """Change a channel's name, disabled message and settings (validated as on create; a platform channel's blank
    secret fields keep their stored values, and its platform hears of the change before it commits)."""
    channel.name, channel.disabled_message = _clean_texts(name, disabled_message)
    channel.config = {**channel.config, **_config_clean(channel.kind, {**channel.config, **config})}
    fields = ["name", "disabled_message", "config", "updated_at"]
    if (platform := platform_for(channel.kind)) is not None:
        if "provider" in config:
            channel.provider = _provider_check(channel.kind, config["provider"])
        channel.secrets = _secrets_merge(channel.kind, channel.secrets, config) or channel.secrets
        fields += ["provider", "secrets"]
    channel.save(update_fields=fields)
    if platform is not None:
        _route(channel)
        platform.on_saved(channel)
    audit_record(actor=user, action="channel.updated", target=channel, data={"fields": sorted(config)})
    return channel


@transaction.atomic
def channel_set_enabled(*, channel: Channel, enabled: bool, user: Any = None) -> Channel:
    """A disabled channel stores nothing and answers with its disabled message."""
    channel.enabled = enabled
    channel.save(update_fields=["enabled", "updated_at"])
    audit_record(actor=user, action="channel.enabled" if enabled else "channel.disabled", target=channel)
    return channel


@transaction.atomic
def channel_delete(*, channel: Channel, user: Any = None) -> None:
    """Remove the channel and its route; its sessions and messages stay (they belong to the chatbot)."""
    audit_record(actor=user, action="channel.deleted", target=channel, data={"kind": channel.kind})
    channel_route_delete(team=connection.tenant, channel_id=channel.pk)
    if (platform := platform_for(channel.kind)) is not None:
        platform.on_deleted(channel)
    channel.delete()


@transaction.atomic
def widget_key_rotate(*, channel: Channel, user: Any = None) -> Channel:
    """A new embed key; the old one is refused from the next request on (nothing caches keys)."""
    if channel.kind != ChannelKind.WIDGET:
        raise ChannelInvalidError(code="channel.not_widget", message="Only widget channels have an embed key.")
    channel.embed_key = _new_embed_key()
    channel.save(update_fields=["embed_key", "updated_at"])
    _route(channel)
    audit_record(actor=user, action="channel.key_rotated", target=channel)
    return channel


@transaction.atomic
def signing_secret_rotate(*, channel: Channel, user: Any = None) -> Channel:
    """A new signing secret for a custom API channel; requests signed with the old one are refused at once."""
    if channel.kind != ChannelKind.CUSTOM_API:
        raise ChannelInvalidError(code="channel.not_custom_api", message="Only custom API channels sign requests.")
    channel.secrets = Secrets({"signing_secret": _new_signing_secret()})
    channel.save(update_fields=["secrets", "updated_at"])
    audit_record(actor=user, action="channel.secret_rotated", target=channel)
    return channel


def channel_session_link(*, session_id: int, channel: Channel) -> None:
    """Remember the channel a session came in through (idempotent)."""
    ChannelSession.objects.get_or_create(session_id=session_id, defaults={"channel": channel})


def delivery_start(*, message_id: int, channel: Channel) -> Delivery:
    delivery, _ = Delivery.objects.get_or_create(message_id=message_id, defaults={"channel": channel})
    return delivery


def delivery_record(*, delivery: Delivery, status: str, error: str = "") -> Delivery:
    """One attempt's outcome: attempts counted, the error kept short (never a secret: senders pass their own
    wording, not a response body)."""
    delivery.status = DeliveryStatus(status)
    delivery.attempts += 1
    delivery.error = error[:500]
    delivery.save(update_fields=["status", "attempts", "error", "updated_at"])
    if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.RETRYING):
        # Across teams, for the public status page (shared_apps/console/status.py): does delivery work at all?
        outcome_record(f"delivery:{delivery.channel.kind}", ok=delivery.status == DeliveryStatus.SENT)
    return delivery

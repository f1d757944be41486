"""What a verified Meta webhook body says, per channel: participants' messages stored through
``channels.inbound.receive`` (the platform's message id is the idempotency key: a redelivery gives no second
reply), and status updates and echoes of our own replies recorded on them (``records``), never answered.

The body was parsed before its signature could be checked (the app secret belongs to the team the body routes
to), so nothing here trusts its shape: every field is read defensively. ``routes_*`` only find the routing ids;
``*_handle`` run inside the routed team's schema once the signature is verified.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.strict_json import clean_text
from tenant_apps.channels import inbound
from tenant_apps.channels.models import Channel
from tenant_apps.channels.platforms.meta import records
from tenant_apps.conversations import ingress
from tenant_apps.conversations.enums import Platform

logger = logging.getLogger(__name__)

MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any, limit: int = 255) -> str:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return clean_text(str(value)).strip()[:limit]
    return ""


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------------- routing


def routes_whatsapp(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The ``value`` of each ``messages`` change, by its ``metadata.phone_number_id``."""
    groups: dict[str, list[dict[str, Any]]] = {}
    if body.get("object") != "whatsapp_business_account":
        return groups
    for entry in _dicts(body.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = _dict(change.get("value"))
            phone_number_id = _str(_dict(value.get("metadata")).get("phone_number_id"))
            if change.get("field") == "messages" and phone_number_id:
                groups.setdefault(phone_number_id, []).append(value)
    return groups


def routes_messenger(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The ``messaging`` events of each entry, by the entry's ``id`` (the Page id)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    if body.get("object") != "page":
        return groups
    for entry in _dicts(body.get("entry")):
        page_id = _str(entry.get("id"))
        events = _dicts(entry.get("messaging"))
        if page_id and events:
            groups.setdefault(page_id, []).extend(events)
    return groups


# ---------------------------------------------------------------------------------------------- receiving


def _accepting(channel: Channel) -> bool:
    """A disabled channel or an unpublished chatbot stores nothing; Meta still gets its 200 (a webhook that
    keeps failing is disabled by Meta), so this is logged for the builder's logs."""
    if not channel.enabled:
        logger.info("meta.channel_disabled", extra={"channel_id": channel.pk})
        return False
    if not inbound.is_published(channel):
        logger.warning("meta.chatbot_unpublished", extra={"channel_id": channel.pk})
        return False
    return True


def _receive(
    channel: Channel, *, platform: str, participant: str, name: str, text: str, external_id: str, meta: dict[str, Any]
) -> None:
    try:
        received = inbound.receive(
            channel=channel,
            platform=platform,
            participant_id=participant,
            name=name,
            inbound=ingress.Inbound(text=text, external_id=external_id, metadata=meta),
        )
    except ApplicationError as exc:  # refused for good (empty, too long, session ended): a retry would not help
        logger.warning("meta.message_refused", extra={"channel_id": channel.pk, "code": exc.code})
        return
    if not received.created:
        logger.info("meta.message_redelivered", extra={"channel_id": channel.pk, "message_id": received.message.pk})


def _whatsapp_content(message: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(text, metadata) of a WhatsApp message; None for what is not a message to answer (reactions, system
    notices, unsupported types)."""
    kind = _str(message.get("type"), 40)
    meta: dict[str, Any] = {"platform_type": kind}
    timestamp = _int(message.get("timestamp"))
    if timestamp is not None:
        meta["platform_timestamp"] = timestamp
    if kind == "text":
        return _str(_dict(message.get("text")).get("body"), ingress.MAX_TEXT), meta
    if kind in MEDIA_TYPES:
        media = _dict(message.get(kind))
        entry = {key: _str(media.get(key)) for key in ("id", "mime_type", "sha256", "filename") if media.get(key)}
        meta["platform_media"] = [{"type": kind, **entry}]
        caption = _str(media.get("caption"), ingress.MAX_TEXT)
        label = f"[{kind}: {entry['filename']}]" if entry.get("filename") else f"[{kind}]"
        return caption or label, meta
    if kind == "interactive":
        interactive = _dict(message.get("interactive"))
        chosen = _dict(interactive.get("button_reply")) or _dict(interactive.get("list_reply"))
        return _str(chosen.get("title"), ingress.MAX_TEXT), meta
    if kind == "button":
        return _str(_dict(message.get("button")).get("text"), ingress.MAX_TEXT), meta
    if kind == "location":
        place = _dict(message.get("location"))
        where = ", ".join(_str(place.get(key)) for key in ("latitude", "longitude"))
        named = " ".join(_str(place.get(key)) for key in ("name", "address") if place.get(key))
        return f"[location: {where}] {named}".strip(), meta
    return None


def whatsapp_handle(channel: Channel, values: Iterable[dict[str, Any]]) -> None:
    """Store the participants' messages of these ``value`` objects and record their ``statuses``."""
    accepting = _accepting(channel)
    for value in values:
        names = {
            _str(contact.get("wa_id")): _str(_dict(contact.get("profile")).get("name"))
            for contact in _dicts(value.get("contacts"))
        }
        for message in _dicts(value.get("messages")) if accepting else []:
            sender, external_id = _str(message.get("from")), _str(message.get("id"))
            content = _whatsapp_content(message)
            if not sender or not external_id or content is None:
                logger.info("meta.message_skipped", extra={"channel_id": channel.pk, "type": message.get("type")})
                continue
            text, meta = content
            _receive(
                channel,
                platform=Platform.WHATSAPP,
                participant=sender,
                name=names.get(sender, ""),
                text=text,
                external_id=external_id,
                meta=meta,
            )
        for status in _dicts(value.get("statuses")):
            errors = _dicts(status.get("errors"))
            error = ""
            if errors:
                first = errors[0]
                details = _str(_dict(first.get("error_data")).get("details"), 300)
                error = f"WhatsApp reported code {_str(first.get('code'))}: {_str(first.get('title'), 200)}"
                error += f" ({details})" if details else ""
            records.status_record(
                channel=channel,
                platform_id=_str(status.get("id")),
                participant=_str(status.get("recipient_id")),
                status=_str(status.get("status"), 20),
                timestamp=status.get("timestamp"),
                error=error,
            )


def _messenger_content(message: dict[str, Any], timestamp: int | None) -> tuple[str, dict[str, Any]]:
    meta: dict[str, Any] = {"platform_type": "message"}
    if timestamp is not None:
        meta["platform_timestamp"] = timestamp // 1000
    text = _str(message.get("text"), ingress.MAX_TEXT)
    quick = _str(_dict(message.get("quick_reply")).get("payload"), 1000)
    media = []
    for attachment in _dicts(message.get("attachments")):
        kind = _str(attachment.get("type"), 40)
        url = _str(_dict(attachment.get("payload")).get("url"), 2000)
        media.append({"type": kind, **({"url": url} if url else {})})
    if media:
        meta["platform_media"] = media
    return text or quick or " ".join(f"[{item['type']}]" for item in media), meta


def messenger_handle(channel: Channel, events: Iterable[dict[str, Any]]) -> None:
    """Store the participants' messages of these ``messaging`` events; record deliveries, reads and echoes."""
    accepting = _accepting(channel)
    for event in events:
        sender = _str(_dict(event.get("sender")).get("id"))
        recipient = _str(_dict(event.get("recipient")).get("id"))
        message = _dict(event.get("message"))
        if message.get("is_echo"):
            # Our own reply coming back (or a person answering from the Page inbox): never answered.
            if not records.status_record(
                channel=channel, platform_id=_str(message.get("mid")), participant=recipient, status="sent"
            ):
                logger.info("meta.echo_ignored", extra={"channel_id": channel.pk})
            continue
        if "delivery" in event or "read" in event:
            receipt = _dict(event.get("delivery")) or _dict(event.get("read"))
            status = "delivered" if "delivery" in event else "read"
            mids = [_str(mid) for mid in receipt.get("mids") or [] if _str(mid)] if status == "delivered" else []
            for mid in mids:
                records.status_record(channel=channel, platform_id=mid, participant=sender, status=status)
            if not mids:
                records.watermark_record(
                    channel=channel, participant=sender, status=status, watermark=receipt.get("watermark")
                )
            continue
        postback = _dict(event.get("postback"))
        if postback and not message:  # a button the participant tapped ("Get started", a menu item): its title
            message = {"mid": postback.get("mid"), "text": postback.get("title") or postback.get("payload")}
        if not message or not accepting:
            continue
        external_id = _str(message.get("mid"))
        if not sender or not external_id:
            continue
        text, meta = _messenger_content(message, _int(event.get("timestamp")))
        _receive(
            channel,
            platform=Platform.MESSENGER,
            participant=sender,
            name="",
            text=text,
            external_id=external_id,
            meta=meta,
        )

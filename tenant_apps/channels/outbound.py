"""Sending a reply out through its channel (the body of ``tasks.reply_send_task``; enqueues nothing).

Only channels that push replies send here: a messaging platform's channel through its platform's ``send``; a
custom API channel with a callback URL POSTs each reply to it, signed like inbound requests, through the
SSRF-guarded client. Widget replies are stored for polling and need no
send. A transient failure (network, timeout, 429, 5xx) raises ``TransientSendError`` for the task to retry with
backoff; a final failure is recorded on the delivery and on the message (the session page shows it).
"""

from __future__ import annotations

import json
import logging

from django.conf import settings

from shared_apps.core.db import connection_release
from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.http import HttpRequestError, UnsafeUrlError, safe_request
from tenant_apps.channels import selectors, services, signing
from tenant_apps.channels.enums import ChannelKind, DeliveryStatus
from tenant_apps.channels.models import Channel
from tenant_apps.channels.platforms import platform_for
from tenant_apps.conversations import selectors as conversation_selectors
from tenant_apps.conversations import services as conversation_services

logger = logging.getLogger(__name__)


class TransientSendError(ApplicationError):
    """Worth another try later (the task retries with backoff)."""


def reply_payload(*, channel: Channel, reply: object) -> dict[str, object]:
    """What a custom API callback receives for one reply (also the body of a ``?wait=`` answer)."""
    session = reply.session  # type: ignore[attr-defined]
    source = reply.reply_to  # type: ignore[attr-defined]
    return {
        "type": "message",
        "channel_id": str(channel.public_id),
        "session_id": str(session.external_id),
        "participant_id": session.participant.identifier,
        "message_id": reply.pk,  # type: ignore[attr-defined]
        "reply_to": {"message_id": source.pk, "external_id": source.external_id} if source else None,
        "role": reply.role,  # type: ignore[attr-defined]
        "text": reply.content,  # type: ignore[attr-defined]
        "created_at": reply.created_at.isoformat(),  # type: ignore[attr-defined]
    }


def reply_send(*, message_id: int, final_attempt: bool) -> None:
    """Send one reply through its session's channel, once: a delivery already sent is left alone."""
    reply = conversation_selectors.message_for_delivery(message_id=message_id)
    if reply is None:
        return
    channel = selectors.channel_for_session(session_id=reply.session_id)
    if channel is None:
        return
    platform = platform_for(channel.kind)
    if platform is None and (channel.kind != ChannelKind.CUSTOM_API or not channel.callback_url):
        return  # the widget's replies are read by polling; a custom API without a callback by ?wait=
    delivery = services.delivery_start(message_id=message_id, channel=channel)
    if delivery.status == DeliveryStatus.SENT:
        return
    connection_release()  # nothing holds a database connection while the platform answers (ADR 0090)
    try:
        if platform is not None:
            platform.send(channel, reply)
        else:
            _post(channel, reply_payload(channel=channel, reply=reply))
    except TransientSendError as exc:
        status = DeliveryStatus.FAILED if final_attempt else DeliveryStatus.RETRYING
        services.delivery_record(delivery=delivery, status=status, error=exc.message)
        if final_attempt:
            _final_failure(message_id, exc.message)
            return
        raise
    except ApplicationError as exc:
        services.delivery_record(delivery=delivery, status=DeliveryStatus.FAILED, error=exc.message)
        _final_failure(message_id, exc.message)
        return
    services.delivery_record(delivery=delivery, status=DeliveryStatus.SENT)
    conversation_services.message_delivery_note(message_id=message_id, status=DeliveryStatus.SENT)


def _final_failure(message_id: int, error: str) -> None:
    logger.warning("reply.delivery_failed", extra={"message_id": message_id})
    conversation_services.message_delivery_note(message_id=message_id, status=DeliveryStatus.FAILED, error=error)


def _post(channel: Channel, payload: dict[str, object]) -> None:
    body = json.dumps(payload).encode()
    secret = channel.secrets.reveal()["signing_secret"]
    headers = {"Content-Type": "application/json", **signing.signed_headers(secret, body)}
    try:
        response = safe_request(
            "POST", channel.callback_url, headers=headers, data=body, timeout=settings.CHANNEL_SEND_TIMEOUT_SECONDS
        )
    except UnsafeUrlError as exc:
        raise ApplicationError(code="channel.callback_unsafe", message=exc.message) from exc
    except HttpRequestError as exc:
        raise TransientSendError(code="channel.callback_unreachable", message=exc.message) from exc
    if response.status == 429 or response.status >= 500:
        raise TransientSendError(code="channel.callback_error", message=f"The callback answered {response.status}.")
    if response.status >= 400:
        raise ApplicationError(code="channel.callback_refused", message=f"The callback answered {response.status}.")

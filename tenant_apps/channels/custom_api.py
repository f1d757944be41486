"""The custom API channel's inbound endpoint (ADR 0101): a team's own backend posts participants' messages,
signed with the channel's secret, and gets replies on its callback URL (signed the same way) or in the answer
(``?wait=<seconds>``).

Verify → persist → enqueue → answer (ARCHITECTURE §4): the signature is checked over the raw body before anything
is parsed or stored; an unknown channel is 404, a bad, stale or missing signature 401 with nothing stored. The
caller's ``message_id`` makes a redelivery idempotent (the first delivery's message, no second reply); a signed
request without one cannot be replayed (its signature is remembered for the replay window).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from shared_apps.core import strict_json
from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.redis import get_redis, team_key
from tenant_apps.channels import inbound, outbound, selectors, signing
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.conversations import delivery, ingress
from tenant_apps.conversations import selectors as conversation_selectors
from tenant_apps.conversations.enums import Platform
from tenants.access import channel_access

logger = logging.getLogger(__name__)

MAX_ID = 255
MAX_BODY_BYTES = 256 * 1024
MAX_WAIT_SECONDS = 25.0


def _error(status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "extra": extra or {}}, status=status)


_SIGNATURE_MESSAGES = {
    "channel.unsigned": "Sign the request (X-Signature and X-Signature-Timestamp headers).",
    "channel.stale_signature": "The signature timestamp is outside the replay window; sign the request again.",
    "channel.bad_signature": "The signature does not match the body.",
}


def _first_use(signature: str) -> bool:
    """Remember a signature for the replay window; False when it was seen already. Redis down: allowed (logged)."""
    name = team_key("custom-api-sig", hashlib.sha256(signature.encode()).hexdigest()[:32])
    try:
        return bool(get_redis().set(name, 1, nx=True, ex=settings.CUSTOM_API_REPLAY_WINDOW_SECONDS * 2))
    except redis.RedisError:
        logger.warning("channel.replay_guard_unavailable")
        return True


def _field(body: dict[str, Any], name: str, *, required: bool = False, limit: int = MAX_ID) -> str:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ApplicationError(code="request.invalid", message=f"“{name}” is required.", extra={"field": name})
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > limit:
        raise ApplicationError(
            code="request.invalid", message=f"“{name}” must be a string ({limit} max).", extra={"field": name}
        )
    return value.strip()


@channel_access
@csrf_exempt
@require_POST
def custom_api_message_api(request: HttpRequest, channel_public_id: uuid.UUID) -> JsonResponse:
    channel = selectors.channel_by_public_id(public_id=channel_public_id, kind=ChannelKind.CUSTOM_API)
    if channel is None:
        return _error(404, "channel.not_found", "No such channel.")
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, "request.too_large", f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
    signature = request.META.get("HTTP_X_SIGNATURE")
    problem = signing.signature_problem(
        channel.secrets.reveal()["signing_secret"],
        timestamp=request.META.get("HTTP_X_SIGNATURE_TIMESTAMP"),
        signature=signature,
        body=raw,
        window=settings.CUSTOM_API_REPLAY_WINDOW_SECONDS,
    )
    if problem is not None:
        return _error(401, problem, _SIGNATURE_MESSAGES[problem])
    if not channel.enabled:
        return _error(403, "channel.disabled", channel.disabled_message or "This channel is disabled.")
    try:
        body = strict_json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        return _error(400, "request.invalid_json", "The body must be a JSON object.")
    try:
        participant_id = _field(body, "participant_id", required=True)
        name = _field(body, "participant_name")
        external_id = _field(body, "message_id") or None
        text = _field(body, "text", limit=ingress.MAX_TEXT)
        context = body.get("context")
        if context is not None and not isinstance(context, dict):
            raise ApplicationError(code="message.context_invalid", message="“context” must be a JSON object.")
    except ApplicationError as exc:
        return _error(400, exc.code, exc.message, dict(exc.extra))
    if external_id is None and not _first_use(str(signature)):
        return _error(409, "channel.replayed", "This signed request was received already; sign a new one.")
    version = channel.chatbot.published_version
    if version is None or channel.chatbot.is_archived:
        return _error(409, "chatbot.not_published", "This chatbot has no published version.")
    try:
        received = inbound.receive(
            channel=channel,
            platform=Platform.API,
            participant_id=participant_id,
            name=name,
            inbound=ingress.Inbound(text=text, external_id=external_id, context=context),
        )
    except ApplicationError as exc:
        return _error(400, exc.code, exc.message, dict(exc.extra))
    message, session = received.message, received.session
    answer: dict[str, Any] = {
        "status": "accepted",
        "duplicate": not received.created,
        "message_id": message.pk,
        "external_id": message.external_id,
        "session_id": str(session.external_id),
    }
    wait = _wait_seconds(request)

    def lookup() -> Any:
        return conversation_selectors.reply_for(session=session, message_id=message.pk)

    reply = lookup()
    if reply is None and wait:
        reply, _ = delivery.wait_for_reply(session=session, lookup=lookup, timeout=wait)
    if reply is not None:
        reply = conversation_selectors.message_for_delivery(message_id=reply.pk)
        answer["status"] = "answered"
        answer["reply"] = outbound.reply_payload(channel=channel, reply=reply)
    return JsonResponse(answer, status=200 if reply is not None or not received.created else 202)


def _wait_seconds(request: HttpRequest) -> float:
    try:
        return min(max(float(request.GET.get("wait", "0")), 0.0), MAX_WAIT_SECONDS)
    except ValueError:
        return 0.0

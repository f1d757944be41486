"""The team-host webhooks of a Twilio channel (docs/channels/twilio.md): ``/api/channels/<public id>/twilio/``
("A message comes in") and ``/api/channels/<public id>/twilio/status/`` (the status callback of our replies).

Twilio signs each request with the account's auth token: ``X-Twilio-Signature`` is base64 HMAC-SHA1 over the URL
it requested followed by the sorted form parameters. We check it with the official
``twilio.request_validator.RequestValidator`` against the channel's public URL (``signature_url``) and the form
parsed from the raw body, before anything is read from it or stored: a missing, tampered or wrong-token signature
is 403 with nothing stored. The ``To`` number must be the channel's (``whatsapp:`` prefixed on WhatsApp).

Stored before acknowledged: the message goes through ``channels.inbound.receive`` with Twilio's ``MessageSid`` as
the idempotency key (a redelivery never gives a second reply), then the answer is empty TwiML (``<Response/>``):
the reply goes out later through the REST API. Twilio does not retry a failed webhook by itself, so an error
while storing is a 500 that Twilio's debugger shows.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict, RawPostDataException
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.channels import inbound
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.models import Channel
from tenant_apps.channels.platforms import twilio_messaging as twilio
from tenant_apps.conversations import ingress
from tenant_apps.conversations.enums import Platform
from tenants.access import channel_access
from tenants.urls import team_url

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # a Twilio message webhook is a few KB (1,600 characters of text, 10 media URLs)
MAX_MEDIA = 10
KINDS = (ChannelKind.TWILIO_WHATSAPP, ChannelKind.TWILIO_SMS)
# Twilio's default opt-out keywords for SMS: Twilio confirms and blocks every later send until START.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "extra": {}}, status=status)


def _twiml(message: str = "") -> HttpResponse:
    body = EMPTY_TWIML
    if message:
        body = f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{escape(message)}</Message></Response>'
    return HttpResponse(body, content_type="text/xml")


def signature_url(request: HttpRequest) -> str:
    """The URL Twilio signed: the channel's public URL on the team host as its page shows it (so a proxy's
    rewriting of scheme, host or port does not matter), or, with ``TWILIO_WEBHOOK_URL_FROM_REQUEST``, the URL the
    request arrived at as Django rebuilds it (honouring the proxy headers Django is configured to trust)."""
    if settings.TWILIO_WEBHOOK_URL_FROM_REQUEST:
        return request.build_absolute_uri()
    return team_url(connection.tenant, request.get_full_path())  # type: ignore[attr-defined]


def _verified(request: HttpRequest, channel_public_id: uuid.UUID) -> tuple[Channel | None, Any, HttpResponse | None]:
    """The channel and the verified parameters (a ``QueryDict``), or the refusal to answer with."""
    channel = (
        Channel.objects.select_related("chatbot__published_version", "provider")
        .filter(public_id=channel_public_id, kind__in=KINDS)
        .first()
    )
    if channel is None:
        return None, None, _error(404, "channel.not_found", "No such channel.")
    try:
        raw = request.body
    except RawPostDataException:  # a multipart body, read already: Twilio posts form-urlencoded
        return None, None, _error(400, "request.invalid", "Twilio posts application/x-www-form-urlencoded.")
    if len(raw) > MAX_BODY_BYTES:
        return None, None, _error(413, "request.too_large", f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
    signature = request.META.get("HTTP_X_TWILIO_SIGNATURE", "")
    if not signature:
        return None, None, _error(403, "channel.unsigned", "Twilio signs every request (X-Twilio-Signature).")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None, None, _error(400, "request.invalid", "The body is not UTF-8.")
    form = request.content_type == "application/x-www-form-urlencoded"
    params: Any = QueryDict(text) if form else text  # JSON bodies are signed through ?bodySHA256=
    token = twilio.credentials(channel)[1]
    if not token or not RequestValidator(token).validate(signature_url(request), params, signature):
        logger.warning("twilio.bad_signature", extra={"channel_id": channel.pk})
        return None, None, _error(403, "channel.bad_signature", "The signature does not match this URL and body.")
    return channel, params if form else QueryDict(), None


def _to_matches(channel: Channel, params: QueryDict) -> bool:
    number = twilio.channel_number(channel)
    return bool(number) and params.get("To", "") == twilio.address(channel, number)


def _sender(channel: Channel, params: QueryDict) -> str:
    sender = params.get("From", "").strip()
    return sender.removeprefix(twilio.WHATSAPP_PREFIX) if twilio.is_whatsapp(channel) else sender


def _media(params: QueryDict) -> list[dict[str, str]]:
    try:
        count = min(int(params.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    media = []
    for n in range(count):
        url, content_type = params.get(f"MediaUrl{n}", ""), params.get(f"MediaContentType{n}", "")
        if url:
            kind = content_type.split("/", 1)[0] if content_type else "file"
            media.append({"type": kind or "file", "url": url[:2000], "content_type": content_type[:100]})
    return media


def _status(channel: Channel, params: QueryDict) -> HttpResponse:
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    participant = params.get("To", "")
    if twilio.is_whatsapp(channel):
        participant = participant.removeprefix(twilio.WHATSAPP_PREFIX)
    twilio.status_record(
        channel=channel,
        message_sid=params.get("MessageSid") or params.get("SmsSid") or "",
        participant=participant,
        status=status,
        error_code=params.get("ErrorCode", ""),
    )
    return _twiml()


@channel_access
@csrf_exempt
@require_POST
def twilio_message_webhook(request: HttpRequest, channel_public_id: uuid.UUID) -> HttpResponse:
    channel, params, refusal = _verified(request, channel_public_id)
    if refusal is not None:
        return refusal
    assert channel is not None
    body, media = params.get("Body", ""), _media(params)
    latitude, longitude = params.get("Latitude", "")[:32], params.get("Longitude", "")[:32]
    if latitude and longitude and not body.strip():  # a WhatsApp location pin
        body = f"[location] {latitude},{longitude}"
    if not body.strip() and not media:
        if params.get("MessageStatus") or params.get("SmsStatus") not in (None, "", "received"):
            return _status(channel, params)  # a status callback sent to the message URL
        return _twiml()
    if not _to_matches(channel, params):
        logger.warning("twilio.wrong_number", extra={"channel_id": channel.pk})
        return _error(400, "channel.wrong_number", "The message is for another number than this channel's.")
    if not channel.enabled:
        return _twiml(channel.disabled_message or "This chat is not available right now.")
    participant_id = _sender(channel, params)
    if not participant_id:
        return _error(400, "request.invalid", "“From” is required.")
    if channel.kind == ChannelKind.TWILIO_SMS and (
        params.get("OptOutType", "").upper() == "STOP" or " ".join(body.upper().split()) in OPT_OUT_KEYWORDS
    ):
        twilio.participant_opt_out(channel=channel, participant_id=participant_id)
        return _twiml()  # Twilio confirms the opt-out itself
    if not inbound.is_published(channel):
        return _error(409, "chatbot.not_published", "This chatbot has no published version.")
    metadata: dict[str, Any] = {}
    if media:
        metadata["platform_media"] = media
    text = body.strip() or " ".join(f"[{item['type']}]" for item in media)
    try:
        inbound.receive(
            channel=channel,
            platform=Platform.WHATSAPP if twilio.is_whatsapp(channel) else Platform.SMS,
            participant_id=participant_id[:255],
            name=params.get("ProfileName", "")[:255],
            inbound=ingress.Inbound(
                text=text[: ingress.MAX_TEXT],
                external_id=(params.get("MessageSid") or params.get("SmsMessageSid") or "")[:255] or None,
                metadata=metadata or None,
            ),
        )
    except ApplicationError as exc:
        return _error(400, exc.code, exc.message)
    return _twiml()


@channel_access
@csrf_exempt
@require_POST
def twilio_status_webhook(request: HttpRequest, channel_public_id: uuid.UUID) -> HttpResponse:
    channel, params, refusal = _verified(request, channel_public_id)
    if refusal is not None:
        return refusal
    assert channel is not None
    return _status(channel, params)

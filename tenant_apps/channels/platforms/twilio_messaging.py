"""WhatsApp and SMS through Twilio (issue 13 point 2, ADR 0102; builder's guide: docs/channels/twilio.md).

A channel is one Twilio phone number (or WhatsApp sender) of the team's Twilio messaging provider (account SID,
auth token). Twilio posts each incoming message to the channel's own webhook on the team host
(``twilio_webhooks``), signed with the auth token; replies go out through the official ``twilio`` client
(``messages.create``), with a status callback to the channel's status webhook, where Twilio's queued / sent /
delivered / read / failed / undelivered statuses are recorded on the reply.

Replies are split to Twilio's limits (an SMS body of at most 1,600 characters, a WhatsApp body of 4,096) on
paragraph, sentence and word boundaries; the SID of each part Twilio accepted is merged into the reply's metadata
(``platform_ids``) at once, so a retry after a transient failure sends only the parts still missing.

A participant who texted STOP (Twilio error 21610 on send, or the STOP keyword itself) has revoked their consent:
their session on the channel is ended, nothing more is sent in it, and their next message (after START) opens a
new session, which asks for consent again when the chatbot asks for it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import requests
from django import forms
from django.conf import settings
from django.db import connection
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.channels.enums import ChannelKind, DeliveryStatus
from tenant_apps.channels.exceptions import ChannelInvalidError
from tenant_apps.channels.models import Channel, ChannelSession, Delivery
from tenant_apps.channels.outbound import TransientSendError
from tenant_apps.channels.platforms import ChannelPlatform, ConnectionResult, platform_register
from tenant_apps.channels.platforms.text import SENTENCES, plain_text, split_text, whatsapp_text
from tenant_apps.conversations import selectors as conversation_selectors
from tenant_apps.conversations import services as conversation_services
from tenant_apps.conversations.enums import Platform, SessionStatus
from tenant_apps.conversations.hooks import EndReason
from tenant_apps.providers.enums import MessagingType
from tenants.urls import team_url

if TYPE_CHECKING:
    from tenant_apps.conversations.models import ChatMessage, ChatSession

logger = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
WHATSAPP_PREFIX = "whatsapp:"
SMS_LIMIT = 1600  # Twilio refuses a longer body (error 21617); it bills it as up to 10 concatenated segments
WHATSAPP_LIMIT = 4096
UNSUBSCRIBED = 21610  # "Attempt to send to unsubscribed recipient": the participant texted STOP
OUTSIDE_WINDOW = 63016  # WhatsApp: a free-form message outside the 24-hour customer-service window
# Twilio's own words for a message it could not deliver (status callbacks); the rank keeps a late, older status
# from replacing a newer one.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
}
FAILED_STATUSES = frozenset({"undelivered", "failed", "canceled"})


def webhook_path(channel: Channel) -> str:
    return f"/api/channels/{channel.public_id}/twilio/"


def status_path(channel: Channel) -> str:
    return f"/api/channels/{channel.public_id}/twilio/status/"


def is_whatsapp(channel: Channel) -> bool:
    return channel.kind == ChannelKind.TWILIO_WHATSAPP


def address(channel: Channel, number: str) -> str:
    """A number as Twilio writes it on this channel: ``whatsapp:+1…`` on WhatsApp, ``+1…`` for SMS."""
    return f"{WHATSAPP_PREFIX}{number}" if is_whatsapp(channel) else number


def channel_number(channel: Channel) -> str:
    return str(channel.config.get("phone_number") or "")


# ---------------------------------------------------------------------------------------------------- client


class _HttpClient(TwilioHttpClient):
    """Twilio's HTTP client, remembering the last answer's headers (a 429's ``Retry-After``: ``TwilioRestException``
    does not carry them)."""

    last_headers: Mapping[str, str] = {}

    def request(self, *args: Any, **kwargs: Any) -> Response:
        self.last_headers = {}
        response = super().request(*args, **kwargs)
        self.last_headers = response.headers or {}
        return response


def credentials(channel: Channel) -> tuple[str, str]:
    """The provider's account SID and auth token (empty when the channel has no provider)."""
    provider = channel.provider
    if provider is None:
        return "", ""
    return str(provider.config.get("account_sid") or ""), str(provider.credentials.reveal().get("auth_token") or "")


def client(channel: Channel) -> tuple[Client, _HttpClient]:
    """The account's REST client at the configured API URL, with a timeout and no in-process retries (a retry is
    the task's, later, never a wait in a worker)."""
    sid, token = credentials(channel)
    if not sid or not token:
        raise ApplicationError(code="channel.provider_required", message="Choose the Twilio provider of this channel.")
    http = _HttpClient(timeout=float(settings.CHANNEL_SEND_TIMEOUT_SECONDS))
    api = Client(sid, token, http_client=http)
    api.api.base_url = settings.PLATFORM_API_URLS["twilio"].rstrip("/")
    return api, http


# ---------------------------------------------------------------------------------------------- configuration


def normalise_number(value: Any) -> str:
    """``+1 (415) 523-8886``, ``whatsapp:+14155238886`` → ``+14155238886``."""
    text = str(value or "").strip().removeprefix(WHATSAPP_PREFIX)
    return re.sub(r"[\s().-]", "", text)


def config_clean(config: Mapping[str, Any]) -> dict[str, Any]:
    number = normalise_number(config.get("phone_number"))
    if not E164.match(number):
        raise ChannelInvalidError(
            code="channel.invalid_phone_number",
            message="Enter the Twilio number in international format, e.g. +14155238886.",
            extra={"field": "phone_number"},
        )
    return {"phone_number": number}


def form_fields() -> dict[str, forms.Field]:
    return {
        "phone_number": forms.CharField(
            label="Twilio phone number",
            max_length=32,
            widget=forms.TextInput(attrs={"class": "input w-full", "placeholder": "+14155238886"}),
            help_text="The number (or WhatsApp sender) this channel answers on, in international format.",
        )
    }


def webhook_url(channel: Channel, base: str) -> str:
    return base + webhook_path(channel)


# ---------------------------------------------------------------------------------------------------- sending


def send(channel: Channel, reply: ChatMessage) -> None:
    """Send ``reply`` to the participant's number from the channel's, in parts no longer than Twilio's limit;
    parts already accepted by an earlier attempt are not sent again. Raises ``TransientSendError`` for 429 (with
    Retry-After), 5xx and network failures; ``ApplicationError`` for a refusal (invalid number, unsubscribed
    participant, WhatsApp outside its window, wrong credentials)."""
    number = channel_number(channel)
    if not number:
        raise ApplicationError(code="channel.not_configured", message="Enter the Twilio number in the settings.")
    if _opted_out(reply):
        raise ApplicationError(
            code="twilio.unsubscribed", message="The participant unsubscribed (STOP): nothing more is sent to them."
        )
    whatsapp = is_whatsapp(channel)
    text = whatsapp_text(reply.content) if whatsapp else plain_text(reply.content)
    parts = split_text(text, WHATSAPP_LIMIT if whatsapp else SMS_LIMIT, separators=SENTENCES)
    if not parts:
        raise ApplicationError(code="channel.empty_reply", message="The reply has no text to send.")
    api, http = client(channel)
    sender, recipient = address(channel, number), address(channel, reply.session.participant.identifier)
    callback = team_url(connection.tenant, status_path(channel))  # type: ignore[attr-defined]
    done = sent_ids(reply)
    for part in parts[len(done) :]:
        try:
            message = api.messages.create(from_=sender, to=recipient, body=part, status_callback=callback)
        except TwilioRestException as exc:
            raise _send_error(exc, http, reply) from exc
        except (TwilioException, requests.RequestException, OSError) as exc:
            raise TransientSendError(
                code="twilio.unreachable", message=f"Could not reach Twilio ({type(exc).__name__})."
            ) from exc
        done.append(str(message.sid))
        _merge(reply.pk, {"platform_ids": done})
        reply.metadata = {**(reply.metadata or {}), "platform_ids": done}


def _send_error(exc: TwilioRestException, http: _HttpClient, reply: ChatMessage) -> ApplicationError:
    status, code = int(exc.status or 0), _code(exc.code)
    said = f"Twilio error {code}: {_reason(exc)}" if code else f"Twilio answered {status}: {_reason(exc)}"
    if status == 429:
        return TransientSendError(code="twilio.rate_limited", message=said, extra={"retry_after": _retry_after(http)})
    if status >= 500:
        return TransientSendError(code="twilio.unavailable", message=said)
    if code == UNSUBSCRIBED:
        _merge(reply.pk, {"platform_error": "twilio.unsubscribed"})
        consent_revoke(session=reply.session)
        return ApplicationError(code="twilio.unsubscribed", message=said)
    if code == OUTSIDE_WINDOW:
        _merge(reply.pk, {"platform_error": "channel.outside_window"})
        return ApplicationError(code="channel.outside_window", message=said)
    _merge(reply.pk, {"platform_error": "twilio.refused"})
    return ApplicationError(code="twilio.refused", message=said)


def _code(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _reason(exc: TwilioRestException) -> str:
    # The client's message reads "Unable to create record: <Twilio's message>".
    return str(exc.msg or "").split(": ", 1)[-1][:300]


def _retry_after(http: _HttpClient) -> int | None:
    headers = http.last_headers
    value = str(headers.get("Retry-After") or headers.get("retry-after") or "").strip()
    return int(value) if value.isdigit() else None


def _merge(message_id: int, values: dict[str, Any]) -> None:
    conversation_services.message_metadata_merge(message_id=message_id, values=values)


def sent_ids(reply: ChatMessage) -> list[str]:
    ids = (reply.metadata or {}).get("platform_ids")
    return [str(i) for i in ids] if isinstance(ids, list) else []


def _opted_out(reply: ChatMessage) -> bool:
    """The participant unsubscribed in this session already (a send was refused with 21610, or they texted STOP):
    Twilio would refuse again, and the session is over."""
    return reply.session.status == SessionStatus.ENDED and bool(
        conversation_selectors.bot_messages_to(
            participant_identifier=reply.session.participant.identifier, session_ids=[reply.session_id]
        )
        .filter(metadata__platform_error="twilio.unsubscribed")
        .exists()
    )


def consent_revoke(*, session: ChatSession) -> None:
    """The participant unsubscribed: end their session (the bot stops; their next message, after START, opens a
    new one that asks for consent again when the chatbot asks for it)."""
    if session.status != SessionStatus.ENDED:
        conversation_services.session_end(session=session, reason=EndReason.PARTICIPANT)
        logger.info("twilio.unsubscribed", extra={"session_id": session.pk})


def participant_opt_out(*, channel: Channel, participant_id: str) -> int:
    """The participant texted STOP on ``channel``: end their open sessions on it; returns how many."""
    links = (
        ChannelSession.objects.select_related("session")
        .filter(channel_id=channel.pk, session__participant__identifier=participant_id)
        .exclude(session__status=SessionStatus.ENDED)
    )
    ended = 0
    for link in links:
        consent_revoke(session=link.session)
        ended += 1
    return ended


# ------------------------------------------------------------------------------------------ status callbacks


def status_record(*, channel: Channel, message_sid: str, participant: str, status: str, error_code: str = "") -> bool:
    """Twilio's status for the reply part ``message_sid`` sent to ``participant`` on ``channel``, on the reply
    (``metadata["platform_status"]``; never going backwards). Failed / undelivered also fail the reply's delivery
    with Twilio's error code. False when no reply of ours has that SID, or the status is not newer."""
    status = status.lower()
    if status not in STATUS_RANK or not message_sid:
        return False
    sessions = ChannelSession.objects.filter(channel_id=channel.pk).values("session_id")
    reply = (
        conversation_selectors.bot_messages_to(participant_identifier=participant, session_ids=sessions)
        .filter(metadata__platform_ids__contains=[message_sid])
        .first()
    )
    if reply is None:
        logger.info("twilio.status_unmatched", extra={"channel_id": channel.pk, "status": status})
        return False
    current = (reply.metadata or {}).get("platform_status") or {}
    if STATUS_RANK.get(str(current.get("status")), -1) >= STATUS_RANK[status]:
        return False
    note: dict[str, Any] = {"status": status, "at": datetime.now(tz=UTC).isoformat(), "sid": message_sid}
    error = f"Twilio error {error_code[:12]} ({status})" if error_code else ""
    if error:
        note["error"] = error
    _merge(reply.pk, {"platform_status": note})
    if status in FAILED_STATUSES:
        error = error or f"Twilio reported the message {status}."
        Delivery.objects.filter(message_id=reply.pk).update(status=DeliveryStatus.FAILED, error=error[:500])
        conversation_services.message_delivery_note(message_id=reply.pk, status=DeliveryStatus.FAILED, error=error)
    return True


# -------------------------------------------------------------------------------------------- test connection


def test_connection(channel: Channel) -> ConnectionResult:
    """Fetch the account with the provider's credentials, and look for the channel's number among its phone
    numbers (a WhatsApp sender such as the sandbox's need not be one)."""
    try:
        api, _ = client(channel)
        sid = credentials(channel)[0]
        account = api.api.v2010.accounts(sid).fetch()
        number = channel_number(channel)
        owned = api.api.v2010.accounts(sid).incoming_phone_numbers.list(phone_number=number, limit=1)
    except ApplicationError as exc:
        return ConnectionResult(False, exc.message)
    except TwilioRestException as exc:
        return ConnectionResult(False, f"Twilio refused the credentials (HTTP {exc.status}): {_reason(exc)}.")
    except (TwilioException, requests.RequestException, OSError) as exc:
        return ConnectionResult(False, f"Could not reach Twilio ({type(exc).__name__}).")
    name = f"Twilio account “{account.friendly_name}” ({account.status})"
    if owned:
        return ConnectionResult(True, f"Connected to {name}; {number} is one of its numbers.")
    if is_whatsapp(channel):
        return ConnectionResult(
            True,
            f"Connected to {name}. {number} is not one of its phone numbers: fine for a WhatsApp sender or the "
            "sandbox, otherwise check the number.",
        )
    return ConnectionResult(False, f"Connected to {name}, but {number} is not one of its phone numbers.")


_COMMON: dict[str, Any] = {
    "provider_type": MessagingType.TWILIO,
    "config_clean": config_clean,
    "send": send,
    "webhook_url": webhook_url,
    "form_fields": form_fields,
    "test_connection": test_connection,
}
platform_register(
    ChannelPlatform(
        kind=ChannelKind.TWILIO_WHATSAPP,
        platform=Platform.WHATSAPP,
        setup_template="channels/setup/twilio_whatsapp.html",
        **_COMMON,
    )
)
platform_register(
    ChannelPlatform(
        kind=ChannelKind.TWILIO_SMS,
        platform=Platform.SMS,
        setup_template="channels/setup/twilio_sms.html",
        **_COMMON,
    )
)

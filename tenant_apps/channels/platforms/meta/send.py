"""Replies out through the Graph API: WhatsApp ``POST /{phone_number_id}/messages`` with the provider's access
token, Messenger ``POST /{page_id}/messages`` with the channel's Page access token. Long replies go out in parts
(WhatsApp 4,096 characters, Messenger 2,000); each accepted part's id is written on the reply at once, so a retry
after a transient failure sends only the parts still missing. WhatsApp replies outside the 24-hour window are
refused before anything is sent (``window``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.channels.models import Channel
from tenant_apps.channels.outbound import TransientSendError
from tenant_apps.channels.platforms import ConnectionResult
from tenant_apps.channels.platforms.meta import graph, records, window
from tenant_apps.channels.platforms.text import SENTENCES, plain_text, split_text, whatsapp_text

if TYPE_CHECKING:
    from tenant_apps.conversations.models import ChatMessage


def _credentials(channel: Channel) -> dict[str, str]:
    if channel.provider is None:
        raise ApplicationError(code="channel.provider_required", message="Choose the Meta provider of this channel.")
    return channel.provider.credentials.reveal()


def _required(value: str, what: str) -> str:
    if not value:
        raise ApplicationError(code="channel.not_configured", message=f"Enter the {what} in the channel's settings.")
    return value


def _send_parts(
    reply: ChatMessage, parts: list[str], post: Callable[[str], graph.GraphAnswer], secrets: tuple[str, ...]
) -> None:
    if not parts:
        raise ApplicationError(code="channel.empty_reply", message="The reply has no text to send.")
    done = records.sent_ids(reply)
    for part in parts[len(done) :]:
        answer = post(part)
        try:
            graph.raise_for_error(answer, secrets=secrets)
        except TransientSendError:
            raise
        except ApplicationError as exc:
            records.refusal_note(reply=reply, code=exc.code)
            raise
        done.append(_message_id(answer.body))
        records.part_sent(reply=reply, ids=done)


def _message_id(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        return str(messages[0].get("id") or "")
    return str(body.get("message_id") or "")


def whatsapp_send(channel: Channel, reply: ChatMessage) -> None:
    """One reply to the participant's WhatsApp number, inside the customer-service window."""
    secrets = _credentials(channel)
    phone_number_id = _required(str(channel.config.get("phone_number_id") or ""), "phone number ID")
    participant = reply.session.participant
    try:
        window.window_check(channel=channel, participant_id=participant.pk)
    except ApplicationError as exc:
        records.refusal_note(reply=reply, code=exc.code)
        raise
    token, app_secret = secrets.get("access_token", ""), secrets.get("app_secret", "")

    def post(part: str) -> graph.GraphAnswer:
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": participant.identifier,
            "type": "text",
            "text": {"body": part, "preview_url": False},
        }
        return graph.call("POST", f"{phone_number_id}/messages", token=token, app_secret=app_secret, json=body)

    parts = split_text(whatsapp_text(reply.content), graph.WHATSAPP_TEXT_LIMIT, separators=SENTENCES)
    _send_parts(reply, parts, post, (token, app_secret))


def messenger_send(channel: Channel, reply: ChatMessage) -> None:
    """One reply to the participant's page-scoped id, as a response to their message."""
    app_secret = _credentials(channel).get("app_secret", "")
    page_id = _required(str(channel.config.get("page_id") or ""), "Page ID")
    token = _required(channel.secrets.reveal().get("page_access_token", ""), "Page access token")
    recipient = reply.session.participant.identifier

    def post(part: str) -> graph.GraphAnswer:
        body = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": {"text": part}}
        return graph.call("POST", f"{page_id}/messages", token=token, app_secret=app_secret, json=body)

    parts = split_text(plain_text(reply.content), graph.MESSENGER_TEXT_LIMIT, separators=SENTENCES)
    _send_parts(reply, parts, post, (token, app_secret))


def _connection(answer: graph.GraphAnswer, secrets: tuple[str, ...], ok: Callable[[dict[str, Any]], str]) -> Any:
    try:
        graph.raise_for_error(answer, secrets=secrets)
    except ApplicationError as exc:
        return ConnectionResult(False, exc.message)
    return ConnectionResult(True, ok(answer.body))


def whatsapp_test(channel: Channel) -> ConnectionResult:
    """Read the phone number's display number and verified name with the provider's token."""
    secrets = _credentials(channel)
    phone_number_id = _required(str(channel.config.get("phone_number_id") or ""), "phone number ID")
    token, app_secret = secrets.get("access_token", ""), secrets.get("app_secret", "")
    answer = graph.call(
        "GET",
        phone_number_id,
        token=token,
        app_secret=app_secret,
        params={"fields": "display_phone_number,verified_name"},
    )
    return _connection(
        answer,
        (token, app_secret),
        lambda body: (
            f"Connected to WhatsApp number {body.get('display_phone_number') or phone_number_id}"
            + (f" (“{body['verified_name']}”)." if body.get("verified_name") else ".")
        ),
    )


def messenger_test(channel: Channel) -> ConnectionResult:
    """Read the Page's name with the channel's Page access token."""
    app_secret = _credentials(channel).get("app_secret", "")
    page_id = _required(str(channel.config.get("page_id") or ""), "Page ID")
    token = _required(channel.secrets.reveal().get("page_access_token", ""), "Page access token")
    answer = graph.call("GET", page_id, token=token, app_secret=app_secret, params={"fields": "name"})
    return _connection(
        answer, (token, app_secret), lambda body: f"Connected to the Facebook Page “{body.get('name') or page_id}”."
    )

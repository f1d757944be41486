"""Telegram as a channel (issue 13 §1, ADR 0102; builder's guide: docs/channels/telegram.md).

A Telegram channel is one bot: the team's Telegram messaging provider holds the bot token (from @BotFather). Each
channel has its own webhook on the team host, ``/api/channels/<public id>/telegram/``, registered with the Bot
API's ``setWebhook`` when the channel is saved (``on_saved``) together with a random per-channel secret
(``Channel.secrets["webhook_secret"]``) that Telegram sends back in ``X-Telegram-Bot-Api-Secret-Token`` on every
delivery; ``deleteWebhook`` when it is deleted. A chat is a participant (its id), a message's
``"<chat id>:<message id>"`` is its idempotency key (Telegram redelivers an update it got no 2xx for).

Replies go out with ``sendMessage`` (``parse_mode=HTML``: the reply's Markdown converted to the few tags Telegram
renders, everything else escaped), split at 4,096 characters; the parts sent are written on the reply, so a retry
after a transient failure sends only the missing ones. A bot the user blocked (403) stops further sends to that
chat until the user writes again (``telegram_blocked`` in the participant's data for the chatbot).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets as pysecrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from config.celery import Queue, app
from shared_apps.core import strict_json
from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.fields import Secrets
from shared_apps.core.http import HttpRequestError, UnsafeUrlError, safe_request
from shared_apps.core.strict_json import clean_text
from tenant_apps.channels import inbound, selectors
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.models import Channel
from tenant_apps.channels.outbound import TransientSendError
from tenant_apps.channels.platforms import ChannelPlatform, ConnectionResult, platform_register
from tenant_apps.channels.platforms.text import escape_html
from tenant_apps.channels.platforms.text import split_text as text_split
from tenant_apps.conversations import ingress
from tenant_apps.conversations import selectors as conversation_selectors
from tenant_apps.conversations import services as conversation_services
from tenant_apps.conversations.enums import Platform
from tenant_apps.providers.enums import MessagingType
from tenants.access import channel_access
from tenants.urls import team_url

if TYPE_CHECKING:
    from tenant_apps.conversations.models import ChatMessage, Participant

logger = logging.getLogger(__name__)

MAX_PART = 4096  # characters of one Telegram message (after its HTML is parsed)
SENTENCE_MARKS = ("\n\n", "\n", ". ", "! ", "? ", " ")  # where a long reply is cut, in that order
MAX_BODY_BYTES = 1024 * 1024
PARTS_KEY = "telegram_parts_sent"  # reply metadata: parts of a split reply already sent (a retry skips them)
BLOCKED_KEY = "telegram_blocked"  # participant data (per chatbot): the user blocked the bot; no sends until they write
SECRET_HEADER = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"  # noqa: S105 (a header name)
ALLOWED_UPDATES = ["message"]
# What Telegram says on 403 when the chat will not take the bot's messages any more.
BLOCKED_WORDS = ("blocked by the user", "user is deactivated", "bot was kicked", "not a member", "chat not found")


def webhook_path(channel: Channel) -> str:
    return f"/api/channels/{channel.public_id}/telegram/"


def webhook_url(channel: Channel, base: str) -> str:
    return base.rstrip("/") + webhook_path(channel)


def _own_webhook_url(channel: Channel) -> str:
    return team_url(connection.tenant, webhook_path(channel))  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------------- Bot API


@dataclass(frozen=True)
class BotAnswer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.body.get("ok") is True

    @property
    def description(self) -> str:
        return str(self.body.get("description") or f"HTTP {self.status}")[:300]

    @property
    def retry_after(self) -> int | None:
        parameters = self.body.get("parameters")
        value = parameters.get("retry_after") if isinstance(parameters, dict) else None
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def bot_token(channel: Channel) -> str:
    provider = channel.provider
    if provider is None:
        raise ApplicationError(
            code="channel.provider_required", message="Choose the Telegram provider of this channel."
        )
    return str(provider.credentials.reveal().get("bot_token") or "")


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "…") if token else text


@sensitive_variables("token")
def call(token: str, method: str, payload: dict[str, Any] | None = None) -> BotAnswer:
    """One Bot API call (``POST <base>/bot<token>/<method>`` with a JSON body); raises ``TransientSendError`` when
    Telegram could not be reached, else returns its answer whatever the status."""
    base = str(settings.PLATFORM_API_URLS["telegram"]).rstrip("/")
    try:
        response = safe_request(
            "POST", f"{base}/bot{token}/{method}", json=payload or {}, timeout=settings.CHANNEL_SEND_TIMEOUT_SECONDS
        )
    except UnsafeUrlError as exc:
        raise ApplicationError(code="channel.platform_unsafe", message=_scrub(exc.message, token)) from exc
    except HttpRequestError as exc:
        raise TransientSendError(
            code="channel.platform_unreachable", message=f"Telegram did not answer: {_scrub(exc.message, token)}"
        ) from exc
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    return BotAnswer(response.status, body if isinstance(body, dict) else {})


# ---------------------------------------------------------------------------------------------- configuration


def config_clean(config: Mapping[str, Any]) -> dict[str, Any]:
    """What ``getMe`` said about the bot (kept for the page); nothing a builder enters."""
    clean: dict[str, Any] = {}
    for key in ("telegram_bot_username",):
        value = config.get(key)
        if isinstance(value, str) and value:
            clean[key] = value[:64]
    return clean


def webhook_secret(channel: Channel) -> str:
    return str(channel.secrets.reveal().get("webhook_secret") or "") if channel.secrets is not None else ""


@sensitive_variables("token", "secret")
def on_saved(channel: Channel) -> None:
    """Give the channel its webhook secret (once) and point the bot's webhook at this channel (``setWebhook``);
    a refusal refuses the save with Telegram's words."""
    secret = webhook_secret(channel)
    if not secret:
        secret = pysecrets.token_urlsafe(32)  # A-Z a-z 0-9 _ -: what secret_token allows
        current = channel.secrets.reveal() if channel.secrets is not None else {}
        channel.secrets = Secrets({**current, "webhook_secret": secret})
        channel.save(update_fields=["secrets"])
    token = bot_token(channel)
    payload = {"url": _own_webhook_url(channel), "secret_token": secret, "allowed_updates": ALLOWED_UPDATES}
    try:
        answer = call(token, "setWebhook", payload)
    except TransientSendError as exc:
        raise ApplicationError(
            code="channel.telegram_unreachable",
            message=f"Could not reach Telegram to set the bot's webhook ({exc.message}). Try saving again.",
        ) from exc
    if not answer.ok:
        raise ApplicationError(
            code="channel.telegram_refused",
            message=f"Telegram refused to set the bot's webhook: {_scrub(answer.description, token)}.",
            extra={"field": "provider"},
        )
    try:
        me = call(token, "getMe")  # the bot's username, for the page (the webhook is set: a failure is no refusal)
    except ApplicationError:
        return
    if me.ok and isinstance(me.body.get("result"), dict):
        username = str(me.body["result"].get("username") or "")[:64]
        if username and username != channel.config.get("telegram_bot_username"):
            channel.config = {**channel.config, "telegram_bot_username": username}
            Channel.objects.filter(pk=channel.pk).update(config=channel.config)


def on_deleted(channel: Channel) -> None:
    """``deleteWebhook``; a failure never blocks deleting the channel (it is logged: the bot's updates then go to a
    URL that answers 404 until the builder points it elsewhere)."""
    try:
        token = bot_token(channel)
        answer = call(token, "deleteWebhook", {"drop_pending_updates": False})
    except ApplicationError as exc:
        logger.warning("telegram.delete_webhook_failed", extra={"channel_id": channel.pk, "code": exc.code})
        return
    if not answer.ok:
        logger.warning(
            "telegram.delete_webhook_refused",
            extra={"channel_id": channel.pk, "status": answer.status, "description": _scrub(answer.description, token)},
        )


def test_connection(channel: Channel) -> ConnectionResult:
    """``getMe`` (the token) and ``getWebhookInfo`` (whether the bot's webhook points at this channel)."""
    try:
        token = bot_token(channel)
        me = call(token, "getMe")
        if not me.ok:
            return ConnectionResult(False, f"Telegram refused the bot token: {_scrub(me.description, token)}.")
        info = call(token, "getWebhookInfo")
    except ApplicationError as exc:
        return ConnectionResult(False, exc.message)
    bot = me.body.get("result") if isinstance(me.body.get("result"), dict) else {}
    assert isinstance(bot, dict)
    name = f"@{bot.get('username', '?')}"
    hook = info.body.get("result") if isinstance(info.body.get("result"), dict) else {}
    assert isinstance(hook, dict)
    url, ours = str(hook.get("url") or ""), _own_webhook_url(channel)
    if not info.ok:
        return ConnectionResult(False, f"Connected as {name}, but Telegram did not say where its webhook points.")
    if url != ours:
        where = f"points at {url}" if url else "is not set"
        return ConnectionResult(False, f"Connected as {name}, but its webhook {where}; save this channel to fix it.")
    pending = int(hook.get("pending_update_count") or 0)
    last_error = str(hook.get("last_error_message") or "")
    message = f"Connected as {name}; its webhook points at this channel ({pending} update(s) pending)."
    return ConnectionResult(
        True, message + (f" Telegram's last delivery error: {last_error[:200]}." if last_error else "")
    )


# ---------------------------------------------------------------------------------------------------- inbound


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "extra": {}}, status=status)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any, limit: int = 255) -> str:
    if isinstance(value, int | str) and not isinstance(value, bool):
        return clean_text(str(value)).strip()[:limit]
    return ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def message_content(message: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(text, metadata) of a Telegram message; None for what is not answered (stickers, locations, service
    messages ...). A photo (its largest size) or a document is described in the metadata, its caption is the
    text (``[photo]`` / ``[document: name]`` without one)."""
    meta: dict[str, Any] = {}
    if (date := _int(message.get("date"))) is not None:
        meta["platform_timestamp"] = date
    text = _str(message.get("text"), ingress.MAX_TEXT + 1)  # longer: refused by ingress, not cut
    if text:
        return text, {**meta, "platform_type": "text"}
    caption = _str(message.get("caption"), ingress.MAX_TEXT + 1)
    photos = (
        [p for p in message.get("photo") or [] if isinstance(p, dict)] if isinstance(message.get("photo"), list) else []
    )
    if photos:
        largest = max(photos, key=lambda p: (_int(p.get("width")) or 0) * (_int(p.get("height")) or 0))
        media: dict[str, Any] = {"type": "photo", "file_id": _str(largest.get("file_id"))}
        media.update({k: largest[k] for k in ("width", "height", "file_size") if _int(largest.get(k)) is not None})
        return caption or "[photo]", {**meta, "platform_type": "photo", "platform_media": [media]}
    document = _dict(message.get("document"))
    if document.get("file_id"):
        media = {"type": "document", "file_id": _str(document.get("file_id"))}
        if name := _str(document.get("file_name")):
            media["name"] = name
        if mime := _str(document.get("mime_type"), 100):
            media["mime_type"] = mime
        if (size := _int(document.get("file_size"))) is not None:
            media["file_size"] = size
        label = f"[document: {name}]" if name else "[document]"
        return caption or label, {**meta, "platform_type": "document", "platform_media": [media]}
    return None


@channel_access
@csrf_exempt
@require_POST
def telegram_webhook_view(request: HttpRequest, channel_public_id: uuid.UUID) -> HttpResponse:
    """One update from Telegram: the secret header checked before the body is read as JSON, the message stored,
    then 200. Whatever is not stored on purpose (a disabled channel, an unpublished chatbot, an update that is no
    message to answer, a message ingress refuses) is still 200: Telegram redelivers anything else for a day."""
    channel = selectors.channel_by_public_id(public_id=channel_public_id, kind=ChannelKind.TELEGRAM)
    if channel is None:
        return _error(404, "channel.not_found", "No such channel.")
    expected = webhook_secret(channel)
    given = request.META.get(SECRET_HEADER, "")
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        logger.warning("telegram.bad_secret", extra={"channel_id": channel.pk, "given": bool(given)})
        return _error(403, "channel.bad_secret", "The secret token does not match this channel's.")
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, "request.too_large", f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
    try:
        update = strict_json.loads(raw)
        if not isinstance(update, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        return _error(400, "request.invalid_json", "The body must be a JSON object.")
    if not channel.enabled:
        logger.info("telegram.channel_disabled", extra={"channel_id": channel.pk})
        return HttpResponse(status=200)
    if not inbound.is_published(channel):
        logger.warning("telegram.chatbot_unpublished", extra={"channel_id": channel.pk})
        return HttpResponse(status=200)
    message = _dict(update.get("message"))
    chat, sender = _dict(message.get("chat")), _dict(message.get("from"))
    chat_id, message_id = _str(chat.get("id")), _str(message.get("message_id"))
    content = message_content(message) if chat_id and message_id and not sender.get("is_bot") else None
    if content is None:
        logger.info("telegram.update_ignored", extra={"channel_id": channel.pk, "update_id": update.get("update_id")})
        return HttpResponse(status=200)
    text, meta = content
    name = " ".join(_str(sender.get(key)) for key in ("first_name", "last_name") if sender.get(key)) or _str(
        chat.get("title")
    )
    try:
        received = inbound.receive(
            channel=channel,
            platform=Platform.TELEGRAM,
            participant_id=chat_id,
            name=name,
            inbound=ingress.Inbound(text=text, external_id=f"{chat_id}:{message_id}", metadata=meta),
        )
    except ApplicationError as exc:  # refused for good (too long, session ended ...): a redelivery would not help
        logger.warning("telegram.message_refused", extra={"channel_id": channel.pk, "code": exc.code})
        return HttpResponse(status=200)
    if received.created:
        message_pk = received.message.pk
        transaction.on_commit(lambda: message_accepted_task.delay(channel_id=channel.pk, message_id=message_pk))
    else:
        logger.info("telegram.message_redelivered", extra={"channel_id": channel.pk, "message_id": received.message.pk})
    return HttpResponse(status=200)


@app.task(name="tenant_apps.channels.platforms.telegram.message_accepted_task", queue=Queue.CHAT, ignore_result=True)
def message_accepted_task(*, channel_id: int, message_id: int) -> None:
    """After a participant message is stored: a user who writes has not blocked the bot (an earlier block is
    lifted), and the typing action is shown while the turn runs (best effort: a failure is ignored)."""
    channel = Channel.objects.select_related("provider", "chatbot").filter(pk=channel_id).first()
    message = conversation_selectors.message_for_delivery(message_id=message_id)
    if channel is None or message is None:
        return
    participant = message.session.participant
    if _blocked(participant, channel.chatbot_id):
        with transaction.atomic():
            conversation_services.participant_data_update(
                participant=participant, chatbot=channel.chatbot, changes={BLOCKED_KEY: None}
            )
    try:
        call(bot_token(channel), "sendChatAction", {"chat_id": participant.identifier, "action": "typing"})
    except ApplicationError:
        logger.info("telegram.typing_failed", extra={"channel_id": channel_id})


# ---------------------------------------------------------------------------------------------------- sending


def _blocked(participant: Participant, chatbot_id: int) -> bool:
    row = conversation_selectors.participant_data_list(participant=participant, chatbot_id=chatbot_id).first()
    return bool(row is not None and (row.data or {}).get(BLOCKED_KEY))


def _block(channel: Channel, reply: ChatMessage) -> None:
    with transaction.atomic():
        conversation_services.participant_data_update(
            participant=reply.session.participant, chatbot=channel.chatbot, changes={BLOCKED_KEY: True}
        )


BLOCKED_MESSAGE = "Not sent: the participant blocked the bot on Telegram (sends resume when they write again)."


def send(channel: Channel, reply: ChatMessage) -> None:
    """Send ``reply`` to the participant's chat in parts of at most 4,096 characters (parts an earlier attempt
    sent are skipped). Raises ``TransientSendError`` for 429 (with ``retry_after``), 5xx and network failures;
    ``ApplicationError`` for a refusal; a blocked bot is recorded on the participant and later sends are skipped."""
    if _blocked(reply.session.participant, channel.chatbot_id):
        raise ApplicationError(code="channel.participant_blocked", message=BLOCKED_MESSAGE)
    token = bot_token(channel)
    chat_id = reply.session.participant.identifier
    parts = split_text(reply.content)
    done = int((reply.metadata or {}).get(PARTS_KEY, 0))
    for index, part in enumerate(parts):
        if index < done:
            continue
        _send_part(channel, token, chat_id, part, reply)
        if len(parts) > 1:
            conversation_services.message_metadata_merge(message_id=reply.pk, values={PARTS_KEY: index + 1})


@sensitive_variables("token")
def _send_part(channel: Channel, token: str, chat_id: str, part: str, reply: ChatMessage) -> None:
    answer = call(token, "sendMessage", {"chat_id": chat_id, "text": to_html(part), "parse_mode": "HTML"})
    if not answer.ok and answer.status == 400 and "parse entities" in answer.description:
        # Our HTML did not parse (it should): the part as plain text rather than no answer at all.
        answer = call(token, "sendMessage", {"chat_id": chat_id, "text": part})
    if answer.ok:
        return
    detail = f"Telegram answered {answer.status}: {_scrub(answer.description, token)}"
    if answer.status == 429:
        raise TransientSendError(
            code="channel.platform_busy", message=detail, extra={"retry_after": answer.retry_after}
        )
    if answer.status >= 500:
        raise TransientSendError(code="channel.platform_busy", message=detail)
    if answer.status == 403 and any(words in answer.description.lower() for words in BLOCKED_WORDS):
        _block(channel, reply)
        raise ApplicationError(code="channel.participant_blocked", message=f"{BLOCKED_MESSAGE} ({detail})")
    raise ApplicationError(code="channel.platform_refused", message=detail)


def split_text(text: str, limit: int = MAX_PART) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at a paragraph, a line, a sentence or a space in
    the second half of a part when there is one; a code block cut in two is closed and reopened."""
    return text_split(text, limit, separators=SENTENCE_MARKS, reopen_fences=True)


# ------------------------------------------------------------------------------------ markdown to Telegram HTML

_CODE = re.compile(r"```([\w+-]*)[^\n`]*\n?(.*?)```|`([^`\n]+)`", re.DOTALL)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![*\w])|(?<![_\w])_(?!\s)([^_\n]+?)(?<!\s)_(?![_\w])")
_STRIKE = re.compile(r"~~(.+?)~~")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)
_BULLET = re.compile(r"^(\s*)[-*+]\s+", re.MULTILINE)


def to_html(text: str) -> str:
    """Markdown as the HTML Telegram renders (``parse_mode=HTML``): bold, italic, strike, inline code, code
    blocks (with their language), links; headings bold and bullets as "•"; every other character escaped."""
    pieces: list[str] = []
    last = 0
    for match in _CODE.finditer(text):
        pieces.append(_inline(text[last : match.start()]))
        if match.group(0).startswith("```"):
            language, code = match.group(1), escape_html((match.group(2) or "").rstrip("\n"))
            attr = f' class="language-{language}"' if language else ""
            pieces.append(f"<pre><code{attr}>{code}</code></pre>")
        else:
            pieces.append(f"<code>{escape_html(match.group(3))}</code>")
        last = match.end()
    pieces.append(_inline(text[last:]))
    return "".join(pieces)


def _inline(text: str) -> str:
    text = escape_html(text)
    links: list[str] = []

    def link(match: re.Match[str]) -> str:
        href = match.group(2).replace('"', "&quot;")
        links.append(f'<a href="{href}">{match.group(1)}</a>')
        return f"\x00{len(links) - 1}\x00"

    text = _LINK.sub(link, text)
    text = _HEADING.sub(lambda m: f"<b>{m.group(1)}</b>", text)
    text = _BOLD.sub(lambda m: f"<b>{m.group(1) or m.group(2)}</b>", text)
    text = _ITALIC.sub(lambda m: f"<i>{m.group(1) or m.group(2)}</i>", text)
    text = _STRIKE.sub(lambda m: f"<s>{m.group(1)}</s>", text)
    text = _BULLET.sub(lambda m: f"{m.group(1)}• ", text)
    return re.sub(r"\x00(\d+)\x00", lambda m: links[int(m.group(1))], text)


platform_register(
    ChannelPlatform(
        kind=ChannelKind.TELEGRAM,
        platform=Platform.TELEGRAM,
        provider_type=MessagingType.TELEGRAM,
        config_clean=config_clean,
        send=send,
        webhook_url=webhook_url,
        setup_template="channels/setup/telegram.html",
        on_saved=on_saved,
        on_deleted=on_deleted,
        test_connection=test_connection,
    )
)

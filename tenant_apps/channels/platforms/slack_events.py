"""Slack's Events API endpoint on the apex (``/webhooks/slack/events/``, issue 13 §4; docs/channels/slack.md).

Verify → persist → enqueue → answer. The timestamp window is checked on the headers alone; the body is then read
only for the workspace id (``team_id``; Slack's first ``url_verification`` names none, so the ``?team=`` the
channel page shows stands in) to find the team's channel through the public ``ChannelRoute`` and the signing
secret of its Slack provider; ``slack_sdk``'s ``SignatureVerifier`` (what bolt uses) checks the ``v0=`` HMAC over
the raw body before anything is stored. A signed request seen before is refused (409), a retry of an event
(``X-Slack-Retry-Num``, signed anew) is stored once: the message id is ``SlackRef`` (channel and ``ts``), so a
retry or the ``message`` twin of an ``app_mention`` is the same message and gets one reply.

The bot answers where it is spoken to: an ``app_mention``, a DM (``channel_type=im``), and any message in a thread
that is already a session (the bot was mentioned or answered there). A thread is a session: its id is derived from
the workspace, channel and thread (``_thread_ids``), so every message of the thread finds it with one indexed read
and two deliveries that start it at once start one (the unique session id). A thread whose session has ended starts
the next generation of it on the next mention. Bot messages, edits and other subtypes are ignored (no loops).
Anything the bot does not answer is still acknowledged (200), so Slack does not retry or disable the app.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
from typing import Any, TypeGuard

import redis
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_sdk.signature import SignatureVerifier

from shared_apps.core import strict_json
from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.redis import get_redis, team_key
from tenant_apps.channels import inbound
from tenant_apps.channels import services as channel_services
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.models import Channel
from tenant_apps.channels.platforms.slack import SlackRef, signing_secret
from tenant_apps.conversations import ingress
from tenant_apps.conversations import selectors as conversation_selectors
from tenant_apps.conversations import services as conversation_services
from tenant_apps.conversations.enums import Platform, SessionStatus

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
WINDOW_SECONDS = 300  # Slack's own: a request older (or newer) than five minutes is refused
GENERATIONS = 16  # sessions one thread may have, one after another (each ended before the next)
THREAD_NAMESPACE = uuid.UUID("4f1f7f0e-8a51-4c55-9a43-5c1a0c4b51a7")
ANSWERED_SUBTYPES = (None, "thread_broadcast", "file_share")  # a person's message; everything else is not


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "extra": {}}, status=status)


def _ignored(reason: str) -> JsonResponse:
    return JsonResponse({"ok": True, "ignored": reason})


def _header_problem(timestamp: str | None, signature: str | None) -> str | None:
    if not timestamp or not signature:
        return "channel.unsigned"
    try:
        sent = int(timestamp)
    except ValueError:
        return "channel.bad_signature"
    if abs(time.time() - sent) > WINDOW_SECONDS:
        return "channel.stale_signature"
    return None


_SIGNATURE_MESSAGES = {
    "channel.unsigned": "Sign the request (X-Slack-Request-Timestamp and X-Slack-Signature headers).",
    "channel.stale_signature": "The request timestamp is more than five minutes away.",
    "channel.bad_signature": "The signature does not match the body.",
}


def _team_of(body: dict[str, Any]) -> str:
    team = body.get("team_id")
    if not team:
        authorizations = body.get("authorizations")
        if isinstance(authorizations, list) and authorizations and isinstance(authorizations[0], dict):
            team = authorizations[0].get("team_id")
    return team if isinstance(team, str) else ""


def _claim(signature: str) -> bool:
    """Remember a verified signature for the window; False when it was used already. Redis down: allowed."""
    try:
        return bool(get_redis().set(_signature_key(signature), 1, nx=True, ex=WINDOW_SECONDS * 2))
    except redis.RedisError:
        logger.warning("channel.replay_guard_unavailable")
        return True


def _release(signature: str) -> None:
    """A request that failed before it was stored may come again with the same signature."""
    with contextlib.suppress(redis.RedisError):
        get_redis().delete(_signature_key(signature))


def _signature_key(signature: str) -> str:
    return team_key("slack-sig", hashlib.sha256(signature.encode()).hexdigest()[:32])


@csrf_exempt
@require_POST
def slack_events_view(request: HttpRequest) -> JsonResponse:
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        return _error(413, "request.too_large", f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
    timestamp = request.META.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = request.META.get("HTTP_X_SLACK_SIGNATURE")
    problem = _header_problem(timestamp, signature)
    if problem is not None:
        return _error(401, problem, _SIGNATURE_MESSAGES[problem])
    try:
        body = strict_json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        return _error(400, "request.invalid_json", "The body must be a JSON object.")
    team_id = _team_of(body) or request.GET.get("team", "")
    if not team_id:
        return _error(
            400, "slack.team_unknown", "No workspace named: use the Request URL shown on the channel page (?team=…)."
        )
    with inbound.routed_channel(kind=ChannelKind.SLACK, external_id=team_id) as channel:
        if channel is None:
            return _error(404, "channel.not_found", "No Slack channel is connected to this workspace.")
        secret = signing_secret(channel)
        if not secret or not SignatureVerifier(secret).is_valid(body=raw, timestamp=timestamp, signature=signature):
            logger.warning("slack.signature_refused", extra={"team_id": team_id, "channel_id": channel.pk})
            return _error(401, "channel.bad_signature", _SIGNATURE_MESSAGES["channel.bad_signature"])
        if body.get("type") == "url_verification":
            return JsonResponse({"challenge": str(body.get("challenge", ""))})
        assert signature is not None
        if not _claim(signature):
            return _error(409, "channel.replayed", "This signed request was received already.")
        if request.META.get("HTTP_X_SLACK_RETRY_NUM"):
            logger.info(
                "slack.retry_received",
                extra={
                    "retry_num": request.META.get("HTTP_X_SLACK_RETRY_NUM"),
                    "reason": request.META.get("HTTP_X_SLACK_RETRY_REASON", ""),
                },
            )
        try:
            return _dispatch(channel, team_id, body)
        except Exception:
            _release(signature)
            raise


def _dispatch(channel: Channel, team_id: str, body: dict[str, Any]) -> JsonResponse:
    event = body.get("event")
    if body.get("type") != "event_callback" or not isinstance(event, dict):
        return _ignored("not_an_event")
    kind = event.get("type")
    if kind not in ("app_mention", "message"):
        return _ignored("event_type")
    bot_user = str(channel.config.get("slack_bot_user_id") or _authorized_bot(body))
    user, text = event.get("user"), event.get("text")
    if event.get("bot_id") or event.get("subtype") not in ANSWERED_SUBTYPES or not user or user == bot_user:
        return _ignored("not_a_person")
    slack_channel, ts, thread_ts = event.get("channel"), event.get("ts"), event.get("thread_ts") or ""
    if not (_id(slack_channel) and _id(ts) and _id(user) and (thread_ts == "" or _id(thread_ts))):
        return _ignored("incomplete")
    text = text if isinstance(text, str) else ""
    direct = event.get("channel_type") == "im"
    mention = f"<@{bot_user}>" if bot_user else ""
    follow_only = False
    if kind == "message" and not direct:
        if not thread_ts:
            return _ignored("not_for_the_bot")  # a channel message that mentions the bot comes as app_mention
        if mention and mention in text:
            return _ignored("app_mention_twin")
        follow_only = True  # answered only in a thread that is a session already
    # A DM is one conversation (answered in it, or in the thread a message started); elsewhere the thread is.
    ref = SlackRef(slack_channel, thread_ts if direct else (thread_ts or ts), ts)
    if not channel.enabled:
        return _ignored("channel_disabled")
    if not inbound.is_published(channel):
        return _ignored("chatbot_not_published")
    text = (text.replace(mention, " ") if mention else text).strip()
    if not text:
        return _ignored("empty")
    try:
        received = thread_receive(channel=channel, team_id=team_id, ref=ref, user=user, text=text, follow=follow_only)
    except ApplicationError as exc:
        logger.info("slack.message_refused", extra={"code": exc.code, "channel_id": channel.pk})
        return JsonResponse({"ok": False, "code": exc.code, "message": exc.message})
    if received is None:
        return _ignored("not_in_a_session")
    return JsonResponse({"ok": True, "duplicate": not received.created, "message_id": received.message.pk})


def _id(value: Any) -> TypeGuard[str]:
    """A Slack id or timestamp as it may go in a message id (no ``:``, which separates ``SlackRef``'s parts)."""
    return isinstance(value, str) and 0 < len(value) <= 64 and ":" not in value


def _authorized_bot(body: dict[str, Any]) -> str:
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations and isinstance(authorizations[0], dict):
        return str(authorizations[0].get("user_id") or "")
    return ""


# ---------------------------------------------------------------------------------------------- thread sessions


def _thread_ids(chatbot_id: int, team_id: str, ref: SlackRef) -> list[uuid.UUID]:
    """The ids the thread's sessions take, one generation after another."""
    key = f"{chatbot_id}:{team_id}:{ref.channel}:{ref.thread_ts}"
    return [uuid.uuid5(THREAD_NAMESPACE, f"{key}#{generation}") for generation in range(GENERATIONS)]


def thread_receive(
    *, channel: Channel, team_id: str, ref: SlackRef, user: str, text: str, follow: bool
) -> ingress.Received | None:
    """Store a message in its thread's session, starting it (for ``user``) unless ``follow`` (a message that is
    answered only in a thread that is a session already: None otherwise). A redelivery is the first delivery's
    message, also when the session it came in has ended since."""
    chatbot = channel.chatbot
    message = ingress.Inbound(text=text, external_id=ref.external_id)
    ids = _thread_ids(chatbot.pk, team_id, ref)
    sessions = conversation_selectors.sessions_by_external_id(chatbot_id=chatbot.pk, external_ids=ids)
    current = next((s for s in sessions if s.status != SessionStatus.ENDED), None)
    if current is not None:
        current.chatbot = chatbot
        return ingress.message_receive(session=current, inbound=message)
    if sessions:
        earlier = conversation_selectors.message_in_sessions(
            session_ids=[s.pk for s in sessions], external_id=ref.external_id
        )
        if earlier is not None:
            return ingress.Received(earlier, earlier.session, created=False)
    if follow:
        return None
    if len(sessions) >= GENERATIONS:
        logger.warning("slack.thread_exhausted", extra={"channel_id": channel.pk})
        return None
    person = ingress.participant_resolve(ingress.ParticipantRef(platform=Platform.SLACK, identifier=user))
    try:
        with transaction.atomic():
            session = conversation_services.session_start(
                chatbot=chatbot,
                version=chatbot.published_version,
                participant=person,
                platform=Platform.SLACK,
                external_id=ids[len(sessions)],
            )
            channel_services.channel_session_link(session_id=session.pk, channel=channel)
            return ingress.message_receive(session=session, inbound=message)
    except IntegrityError:
        # Another delivery (the app_mention's twin, a retry) started the thread's session at the same moment.
        started = conversation_selectors.sessions_by_external_id(
            chatbot_id=chatbot.pk, external_ids=[ids[len(sessions)]]
        )
        if not started:
            raise
        started[0].chatbot = chatbot
        return ingress.message_receive(session=started[0], inbound=message)

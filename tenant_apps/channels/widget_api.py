"""The chat API for embedded widgets (real-clients §1.3-§1.7), compatible with the unmodified npm
``open-chat-studio-widget@0.6.0``: start, message, task poll, message poll, upload; also under ``/api/v1/``.

Each call: rate limit (Redis, before any query) → find the channel (start: by chatbot id + embed key; session calls:
by session, one query) → check key, origin, token and enabled at the channel's level (``widget_auth``) → parse →
``conversations.ingress`` → answer. Errors are JSON ``{"error", "code", "message", "extra"}`` (the widget reads
``error``; the house shape is the rest). CORS and preflights: ``shared_apps.core.cors``.

The poll race (ADR 0100): widget 0.6.0 polls ``/poll/`` without ``since`` right after ``/start/``, racing its first
``/message/``. The poll never returns the participant's own messages (the widget shows them the moment they are
sent), and without ``since`` it leaves out the replies to them too (those come through the task poll), so neither
can appear twice whatever order the requests land in. Inbound messages are still stored before ``/message/``
answers.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from shared_apps.core import strict_json
from shared_apps.core.db import connection
from shared_apps.core.exceptions import ApplicationError, NotFoundError
from tenant_apps.channels import selectors, services, throttle, widget_auth
from tenant_apps.channels.enums import WidgetAuthLevel
from tenant_apps.channels.models import Channel, ChannelSession
from tenant_apps.channels.widget_auth import AccessRefusedError
from tenant_apps.conversations import delivery, ingress, streams
from tenant_apps.conversations import selectors as conversation_selectors
from tenant_apps.conversations.enums import Platform
from tenants.access import channel_access

if TYPE_CHECKING:
    from tenant_apps.conversations.models import ChatMessage, ChatSession

logger = logging.getLogger(__name__)

MAX_REMOTE_ID = 255
MAX_NAME = 255
POLL_LIMIT_DEFAULT, POLL_LIMIT_MAX = 50, 100
# The widget's task poll asks every second, 120 times, from its send on: a reply that came within this long of its
# message reached the widget that way, and the session poll leaves it out (polls that cross in flight on a busy
# server would show it twice); a later one only the session poll can show.
TASK_POLL_WINDOW = timedelta(seconds=120)
MAX_ATTACHMENT_IDS = 20
MAX_WAIT_SECONDS = 25.0


def _error(status: int, code: str, message: str, extra: dict[str, Any] | None = None) -> JsonResponse:
    return JsonResponse(
        {"error": message, "code": code, "message": message, "extra": extra or {}, "status": "error"}, status=status
    )


def _version_tuple(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.split(".")[:3])
    except ValueError:
        return None


def _deprecation_headers(request: HttpRequest, response: HttpResponse) -> None:
    """Widgets older than ``CHAT_WIDGET_MIN_VERSION`` are told they are deprecated and when support ends."""
    sent = _version_tuple(str(request.META.get("HTTP_X_OCS_WIDGET_VERSION", ""))[:20])
    minimum = _version_tuple(settings.CHAT_WIDGET_MIN_VERSION)
    if sent is not None and minimum is not None and sent < minimum:
        response["Deprecation"] = "true"
        response["Sunset"] = settings.CHAT_WIDGET_SUNSET
        response["Link"] = f'<{settings.CHAT_WIDGET_DOCS_URL}>; rel="successor-version"'


def widget_endpoint(scope: str, limit_setting: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., Any]]:
    """Rate limit first (no query spent on a flood), then the view; refusals and errors as JSON; the rate-limit and
    deprecation headers on every answer."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            state = throttle.throttle_hit(request=request, scope=scope, limit=getattr(settings, limit_setting))
            if not state.allowed:
                response: HttpResponse = _error(429, "rate_limited", "Too many requests. Please wait and try again.")
            else:
                try:
                    response = view(request, *args, **kwargs)
                except AccessRefusedError as refused:
                    response = _error(refused.status, refused.code, refused.message)
                except NotFoundError as exc:
                    response = _error(404, exc.code, exc.message)
                except ApplicationError as exc:
                    response = _error(400, exc.code, exc.message, dict(exc.extra))
            for name, value in state.headers().items():
                response[name] = value
            _deprecation_headers(request, response)
            return response

        return channel_access(csrf_exempt(wrapper))

    return decorate


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = strict_json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApplicationError(code="request.invalid_json", message="The body must be a JSON object.") from exc
    if not isinstance(body, dict):
        raise ApplicationError(code="request.invalid_json", message="The body must be a JSON object.")
    return body


def _text(value: Any, *, limit: int, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(code="request.invalid", message=f"“{name}” must be a string.", extra={"field": name})
    if len(value) > limit:
        raise ApplicationError(
            code="request.invalid", message=f"“{name}” is too long ({limit} max).", extra={"field": name}
        )
    return value.strip()


def message_json(message: ChatMessage) -> dict[str, Any]:
    """Open Chat Studio's ``MessageSerializer`` shape (DRF writes UTC as ``...Z``)."""
    created = message.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {
        "created_at": created,
        "role": message.role,
        "content": message.content,
        "metadata": {},
        "tags": [],
        "attachments": [
            {
                "name": a.get("name", ""),
                "content_type": a.get("content_type", ""),
                "size": a.get("size", 0),
                "content_url": "",
            }
            for a in (message.attachments or [])
        ],
    }


def _session_for(request: HttpRequest, session_id: uuid.UUID) -> tuple[ChatSession, Channel]:
    """The widget session ``session_id`` of this team and the channel it came through, after the channel's checks.
    Unknown here (another team's, or not a widget session) → 404."""
    link: ChannelSession | None = selectors.channel_session_get(session_external_id=session_id)
    if link is None:
        raise NotFoundError(code="session.not_found", message="Session does not exist")
    widget_auth.session_check(request, link.channel, str(session_id))
    return link.session, link.channel


# ------------------------------------------------------------------------------------------------- endpoints


@widget_endpoint("start", "CHAT_API_START_RATE_LIMIT")
@require_POST
def chat_start_api(request: HttpRequest) -> HttpResponse:
    body = _json_body(request)
    chatbot_id = body.get("chatbot_id")
    if not isinstance(chatbot_id, str) or not chatbot_id:
        raise ApplicationError(
            code="request.invalid", message="“chatbot_id” is required.", extra={"field": "chatbot_id"}
        )
    remote_id = _text(body.get("participant_remote_id"), limit=MAX_REMOTE_ID, name="participant_remote_id")
    name = _text(body.get("participant_name"), limit=MAX_NAME, name="participant_name")
    key = widget_auth.embed_key_of(request)
    channel = selectors.widget_channel_for(chatbot_public_id=chatbot_id, embed_key=key)
    if channel is None:
        if key:
            raise AccessRefusedError(403, "embed_key_invalid", "Invalid widget embed key")
        raise AccessRefusedError(401, "chat_access_denied", "Authentication required to chat with this chatbot")
    widget_auth.start_check(request, channel, key)
    chatbot = channel.chatbot
    version = chatbot.published_version
    if version is None:
        raise NotFoundError(code="chatbot.not_published", message="This chatbot has no published version yet.")
    participant = ingress.participant_resolve(
        ingress.ParticipantRef(platform=Platform.WIDGET, identifier=remote_id or f"anon:{uuid.uuid4()}", name=name)
    )
    try:
        session, _ = ingress.session_open(
            chatbot=chatbot, participant=participant, platform=Platform.WIDGET, version=version, resume=False
        )
    except ApplicationError as exc:
        raise AccessRefusedError(403, exc.code, exc.message) from exc
    services.channel_session_link(session_id=session.pk, channel=channel)
    token = None
    if channel.auth_level == WidgetAuthLevel.SESSION_TOKEN:
        token = widget_auth.token_issue(str(session.external_id))
    return JsonResponse(
        {
            "session_id": str(session.external_id),
            "session_token": token,
            "chatbot": {
                "id": str(chatbot.public_id),
                "name": chatbot.name,
                "url": "",
                "version_number": version.number,
                "versions": [],
            },
            "participant": {"identifier": participant.identifier, "remote_id": participant.identifier},
        },
        status=201,
    )


def _wait_seconds(request: HttpRequest) -> float:
    try:
        return min(max(float(request.GET.get("wait", "0")), 0.0), MAX_WAIT_SECONDS)
    except ValueError:
        return 0.0


@widget_endpoint("session", "CHAT_API_RATE_LIMIT")
@require_POST
def chat_message_api(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session, _channel = _session_for(request, session_id)
    if session.is_ended:
        return _error(400, "session.ended", "Session has ended")
    body = _json_body(request)
    text = _text(body.get("message"), limit=ingress.MAX_TEXT, name="message")
    ids = body.get("attachment_ids") or []
    if (
        not isinstance(ids, list)
        or len(ids) > MAX_ATTACHMENT_IDS
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    ):
        raise ApplicationError(
            code="request.invalid",
            message="“attachment_ids” must be a list of file ids.",
            extra={"field": "attachment_ids"},
        )
    context = body.get("context")
    if context is not None and not isinstance(context, dict):
        raise ApplicationError(
            code="message.context_invalid", message="The context must be a JSON object.", extra={"field": "context"}
        )
    received = ingress.message_receive(
        session=session, inbound=ingress.Inbound(text=text, attachment_ids=ids, context=context)
    )
    message = received.message
    stream_url = streams.stream_url(
        scheme=request.scheme or "http", host=request.get_host(), schema=connection.schema_name, message_id=message.pk
    )
    return JsonResponse({"task_id": str(message.pk), "status": "processing", "stream_url": stream_url}, status=202)


@widget_endpoint("session", "CHAT_API_RATE_LIMIT")
@require_GET
def chat_task_poll_api(request: HttpRequest, session_id: uuid.UUID, task_id: str) -> HttpResponse:
    """The reply to the message ``task_id`` of this session: complete with the message, or processing. A task of
    another session is 404. ``?wait=<seconds>`` (up to 25) holds the request until the reply is committed."""
    session, _channel = _session_for(request, session_id)
    if not task_id.isdigit() or len(task_id) > 18:
        raise NotFoundError(code="task.not_found", message="Task not found")
    message_id = int(task_id)

    def lookup() -> ChatMessage | None:
        return conversation_selectors.reply_for(session=session, message_id=message_id)

    reply = lookup()
    if reply is None:
        try:
            conversation_selectors.message_get(session=session, message_id=message_id)
        except NotFoundError:
            raise NotFoundError(code="task.not_found", message="Task not found") from None
        wait = _wait_seconds(request)
        if wait:
            reply, _ = delivery.wait_for_reply(session=session, lookup=lookup, timeout=wait)
    if reply is None:
        return JsonResponse({"status": "processing"})
    return JsonResponse({"message": message_json(reply), "status": "complete"})


@widget_endpoint("session", "CHAT_API_RATE_LIMIT")
@require_GET
def chat_poll_api(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session, _channel = _session_for(request, session_id)
    since_text = request.GET.get("since")
    since: datetime | None = None
    if since_text:
        try:
            since = parse_datetime(since_text[:64].replace(" ", "+"))
        except ValueError:
            since = None
        if since is None:
            return _error(400, "request.invalid_since", "“since” must be an ISO 8601 date and time.")
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    try:
        limit = min(max(int(request.GET.get("limit", POLL_LIMIT_DEFAULT)), 1), POLL_LIMIT_MAX)
    except ValueError:
        limit = POLL_LIMIT_DEFAULT
    messages, has_more = conversation_selectors.messages_since(
        session=session, since=since, limit=limit, participant_messages=False, turn_replies_after=TASK_POLL_WINDOW
    )
    return JsonResponse(
        {
            "messages": [message_json(m) for m in messages],
            "has_more": has_more,
            "session_status": "ended" if session.is_ended else "active",
        }
    )


@widget_endpoint("session", "CHAT_API_RATE_LIMIT")
@require_POST
def chat_upload_api(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session, _channel = _session_for(request, session_id)
    if session.is_ended:
        return _error(400, "session.ended", "Session has ended")
    files = ingress.files_upload(session=session, files=request.FILES.getlist("files"))
    return JsonResponse(
        {"files": [{"id": f.pk, "name": f.name, "size": f.size, "content_type": f.content_type} for f in files]},
        status=201,
    )

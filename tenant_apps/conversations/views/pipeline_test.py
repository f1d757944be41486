"""The pipeline editor's test panel: send a message through the chatbot's working copy, get the reply and trace.

JSON over the same path as the in-app chat (``message_receive`` → the turn in the worker → reply + trace), so the
test panel runs exactly what a participant would get. The send waits for the reply (``wait``, up to 25 s, woken by
the session's reply channel); a slower turn answers ``pending`` and the editor long-polls ``reply_url``. With
``"stream": true`` the send answers ``pending`` at once with a ``stream_url`` (ADR 0095): the editor shows the tokens,
then reads the reply and its trace from ``reply_url``.

Member pages (editors), not team APIs: a test conversation is a member's own chat, so API keys are refused as on
every page, and the CSRF token travels in ``X-CSRFToken``. Errors are ``{"code", "message", "extra"}`` with a 4xx.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from shared_apps.core.exceptions import ApplicationError, NotFoundError
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.conversations import delivery, ingress, selectors, services
from tenant_apps.conversations.enums import Platform, TurnStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession
from tenant_apps.conversations.views.chat import stream_url
from tenants.access import members
from tenants.enums import Role

MAX_WAIT_SECONDS = 25.0
DEFAULT_WAIT_SECONDS = 20.0


class BadRequestError(ApplicationError):
    """A body the endpoint cannot read (400)."""


@members(Role.EDITOR)
@require_POST
def pipeline_test_send_view(request: HttpRequest, chatbot_id: int) -> JsonResponse:
    """``{"message", "session_id"?, "wait"?, "stream"?}`` → the turn: ``status`` complete (reply + trace) or pending."""
    try:
        chatbot = chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
        body = _json_body(request)
        message_text = body.get("message")
        if not isinstance(message_text, str):
            raise BadRequestError(code="request.invalid", message="Send a JSON object with a “message” string.")
        session = services.editor_session_get_or_start(
            chatbot=chatbot, external_id=_uuid_or_none(body.get("session_id")), user=request.user
        )
        reply = None
        stream = settings.CHAT_STREAMING and body.get("stream") is True
        with delivery.reply_watch(session=session, timeout=0 if stream else _wait(body.get("wait"))) as watch:
            message = ingress.message_receive(session=session, inbound=ingress.Inbound(text=message_text)).message
            if message.turn_status == TurnStatus.PENDING and watch.listening:
                message_id = message.pk
                reply = watch.wait(
                    lambda: selectors.reply_for(session=session, message_id=message_id), look_first=False
                )
    except ApplicationError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    turn = _turn(chatbot_id, session, message.pk, reply)
    if stream and reply is None and message.turn_status == TurnStatus.PENDING:
        turn["stream_url"] = stream_url(request, message.pk)
    return JsonResponse(turn)


@members(Role.EDITOR)
@require_GET
def pipeline_test_reply_view(
    request: HttpRequest, chatbot_id: int, session_id: uuid.UUID, message_id: int
) -> JsonResponse:
    """Long poll (``?wait=<seconds>``) for the reply to a test message: complete, or pending when time is up."""
    try:
        session = _test_session(chatbot_id, session_id)
        selectors.message_get(session=session, message_id=message_id)
        reply, _waited = delivery.wait_for_reply(
            session=session,
            lookup=lambda: selectors.reply_for(session=session, message_id=message_id),
            timeout=_wait(request.GET.get("wait", 0)),
        )
    except ApplicationError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    return JsonResponse(_turn(chatbot_id, session, message_id, reply))


def _test_session(chatbot_id: int, session_id: uuid.UUID) -> ChatSession:
    session = selectors.session_get(external_id=session_id)
    if session.chatbot_id != chatbot_id or session.platform != Platform.WEB or session.version_id is not None:
        raise NotFoundError(code="session.not_found", message="No such session.")
    return session


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if request.content_type != "application/json":  # a form's body may already be consumed by its parser
        raise BadRequestError(code="request.invalid", message="Send a JSON object (Content-Type: application/json).")
    try:
        body = json.loads(request.body or b"{}")
    except ValueError as exc:
        raise BadRequestError(code="request.invalid", message="The body is not JSON.") from exc
    if not isinstance(body, dict):
        raise BadRequestError(code="request.invalid", message="Send a JSON object.")
    return body


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise BadRequestError(code="request.invalid", message="“session_id” is not a session id.") from exc


def _wait(value: Any) -> float:
    if value is None:
        return DEFAULT_WAIT_SECONDS
    try:
        return min(max(float(value), 0.0), MAX_WAIT_SECONDS)
    except (TypeError, ValueError):
        return DEFAULT_WAIT_SECONDS


def _turn(chatbot_id: int, session: ChatSession, message_id: int, reply: ChatMessage | None) -> dict[str, Any]:
    """The editor's view of one turn: the reply, and the trace (node path; per node input, output, duration)."""
    body: dict[str, Any] = {
        "session_id": str(session.external_id),
        "message_id": message_id,
        "status": "pending" if reply is None else "complete",
        "reply_url": reverse("conversations:pipeline_test_reply", args=[chatbot_id, session.external_id, message_id]),
        "reply": None,
        "trace": None,
    }
    if reply is None:
        return body
    body["reply"] = {"id": reply.pk, "content": reply.content, "error": bool((reply.metadata or {}).get("error"))}
    trace = selectors.trace_for_message(session=session, message_id=message_id)
    if trace is not None:
        body["trace"] = {
            "id": trace.pk,
            "status": trace.status,
            "duration_ms": trace.duration_ms,
            "node_path": trace.node_path,
            "nodes": trace.nodes,
            "error": trace.error,
            "error_node_id": trace.error_node_id,
            "input_tokens": trace.input_tokens,
            "output_tokens": trace.output_tokens,
            "url": reverse("conversations:trace_detail", args=[trace.pk]),
        }
    return body

"""What the in-app chat and the public link share: the chat page's context, the send (which waits for its reply),
the reply long poll and file downloads. Each audience's module finds the session its own way, then calls these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from shared_apps.core.db import connection
from shared_apps.core.exceptions import ApplicationError, NotFoundError
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.conversations import delivery, ingress, selectors, streams, uploads
from tenant_apps.conversations.enums import SessionStatus, TurnStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession


def or_404(getter: Any, **kwargs: Any) -> Any:
    """``getter(**kwargs)``, with its ``NotFoundError`` answered as a 404."""
    try:
        return getter(**kwargs)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def chat_context(session: ChatSession, *, debug: bool, chat_base: str) -> dict[str, Any]:
    transcript = selectors.chat_transcript(session=session, with_traces=debug)
    config = chatbot_selectors.bot_config(chatbot=session.chatbot, version=session.version)
    return {
        "session": session,
        "chatbot": session.chatbot,
        "transcript": transcript,
        "debug": debug,
        "consent": config.consent,
        "versions": chatbot_selectors.version_list(chatbot=session.chatbot) if debug else [],
        "chat_base": chat_base,
        "file_base": _file_base(session, chat_base, debug=debug),
        "uploads_enabled": config.file_uploads_enabled,
        "streaming": settings.CHAT_STREAMING,
    }


def chat_context_unstarted(chatbot: Any, *, new_session: bool) -> dict[str, Any]:
    """A public link's page before its first message: no session yet; the first send starts it."""
    config = chatbot_selectors.bot_config(chatbot=chatbot, version=chatbot.published_version)
    return {
        "session": None,
        "chatbot": chatbot,
        "transcript": [],
        "debug": False,
        "consent": config.consent,
        "needs_consent": config.consent is not None,
        "versions": [],
        "chat_base": f"/c/{chatbot.public_id}/",
        "new_session": new_session,
        "uploads_enabled": config.file_uploads_enabled,
        "streaming": settings.CHAT_STREAMING,
    }


def error_answer(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    """A send that could not be stored: the error shows under the composer, the text stays in the box."""
    response = render(request, "conversations/partials/_chat_error.html", {"error": exc.message})
    response["HX-Retarget"] = "#composer-state"
    response["HX-Reswap"] = "innerHTML"
    return response


def _file_base(session: ChatSession, chat_base: str, *, debug: bool) -> str:
    """Where a message's files download from: the members' route in the app, the visitor's on a public link."""
    return f"/sessions/{session.external_id}/files/" if debug else f"{chat_base}files/"


def send(
    request: HttpRequest,
    session: ChatSession,
    *,
    debug: bool,
    chat_base: str,
    before: list[ChatMessage] | None = None,
) -> HttpResponse:
    """Store the message and enqueue its turn. With ``?stream=1`` (the chat pages ask for it when streaming is on)
    the answer comes at once, with a bubble that streams the reply from the stream server (ADR 0095). Otherwise,
    with ``?wait=<seconds>``, the request waits for the reply like the reply poll does, so a turn is usually one
    request; when the reply takes longer, the answer holds a pending bubble that polls for it. The watch on the
    session's channel starts before the turn is enqueued, so no reply can come unseen and nothing is looked up
    before one comes. ``before``: messages to show first (the seed of a session this send started)."""
    reply = None
    stream = settings.CHAT_STREAMING and request.GET.get("stream") == "1"
    with delivery.reply_watch(session=session, timeout=0 if stream else _wait_seconds(request)) as watch:
        inbound = ingress.Inbound(text=request.POST.get("message", ""), files=request.FILES.getlist("files"))
        try:
            message = ingress.message_receive(session=session, inbound=inbound).message
        except ApplicationError as exc:
            return error_answer(request, exc)
        if message.turn_status == TurnStatus.PENDING and watch.listening:
            reply = _with_session_status(session, watch.wait(_reply_lookup(session, message.pk), look_first=False))
    if reply is not None and debug:  # the trace panel shows the turn's trace
        message = reply.reply_to = selectors.message_with_trace(session=session, message_id=message.pk)
    elif session.status == SessionStatus.PENDING_CONSENT:
        session.refresh_from_db(fields=["status"])  # the message may have been the consent
    return render(
        request,
        "conversations/partials/_sent.html",
        {
            "message": message,
            "reply": reply,
            "session": session,
            "debug": debug,
            "chat_base": chat_base,
            "file_base": _file_base(session, chat_base, debug=debug),
            "stream_url": stream_url(request, message.pk)
            if stream and message.turn_status == TurnStatus.PENDING
            else "",
            "before": before or [],
        },
    )


def stream_url(request: HttpRequest, message_id: int) -> str:
    """Where the page streams the reply to ``message_id`` from (``streams.stream_url``)."""
    return streams.stream_url(
        scheme=request.scheme or "http", host=request.get_host(), schema=connection.schema_name, message_id=message_id
    )


def _wait_seconds(request: HttpRequest) -> float:
    """``?wait=<seconds>``: how long the request may hold on for the reply (0 to 25)."""
    try:
        return min(max(float(request.GET.get("wait", "0")), 0.0), 25.0)
    except ValueError:
        return 0.0


def _reply_lookup(session: ChatSession, message_id: int) -> Callable[[], ChatMessage | None]:
    return lambda: selectors.reply_for(session=session, message_id=message_id)


def _with_session_status(session: ChatSession, reply: ChatMessage | None) -> ChatMessage | None:
    """A reply moves ``session.status`` on: its turn may have ended the session."""
    if reply is not None:
        session.status = reply.session_status  # type: ignore[attr-defined]
    return reply


def reply(request: HttpRequest, session: ChatSession, message_id: int, *, debug: bool, chat_base: str) -> HttpResponse:
    """Long-polled by the pending bubble (``?wait=<seconds>``): answers as soon as the reply is committed; on
    timeout it returns the pending bubble again, which asks again."""
    message: ChatMessage | None = None
    lookup = _reply_lookup(session, message_id)
    answer, waited = _with_session_status(session, lookup()), False  # usually there already
    if answer is None:
        message = or_404(selectors.message_get, session=session, message_id=message_id)
        answer, waited = delivery.wait_for_reply(session=session, lookup=lookup, timeout=_wait_seconds(request))
        _with_session_status(session, answer)
    if answer is not None and debug:  # only the trace panel needs the message itself, with its trace
        message = answer.reply_to = selectors.message_with_trace(session=session, message_id=message_id)
    return render(
        request,
        "conversations/partials/_reply.html",
        {
            "message": message,
            "reply": answer,
            "session": session,
            "debug": debug,
            "chat_base": chat_base,
            "poll_delay": "" if waited else " delay:1s",
        },
    )


def file_download(session: ChatSession, file_id: int) -> FileResponse:
    """A file a participant sent in ``session``, always as a download (never rendered in our origin)."""
    chat_file = uploads.chat_file_get(session=session, file_id=file_id)
    if chat_file is None:
        raise Http404
    response = FileResponse(chat_file.file.open("rb"), as_attachment=True, filename=chat_file.name)
    response["Content-Type"] = "application/octet-stream"
    return response

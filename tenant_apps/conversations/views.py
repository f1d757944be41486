"""Chat and review pages on the team host. Adapters only: parse, call one service or selector, render.

- In-app chat (members): pick the working copy or any version, chat, see each turn's trace.
- Public link (anyone, for chatbots marked public): the same chat without the trace panel; the browser's
  session cookie remembers which anonymous participant it is.
- Sessions: filtered list, transcript with tags/comments/traces, end session, CSV export with progress.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError, NotFoundError
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.conversations import delivery, exports, selectors, services, uploads
from tenant_apps.conversations.enums import Platform, SessionStatus, TurnStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession, SessionExport, Tag
from tenants.access import members, open_access
from tenants.enums import Role


def _or_404(getter: Any, **kwargs: Any) -> Any:
    try:
        return getter(**kwargs)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


@members()
def team_home_view(request: HttpRequest) -> HttpResponse:
    """The team's start page: the week in numbers, a getting-started checklist, the latest sessions."""
    return render(request, "conversations/team_home.html", {"overview": selectors.team_overview()})


# -------------------------------------------------------------------------------------------------- in-app chat


@members(Role.EDITOR)
def chat_start_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    """Open a new in-app session on the working copy or on ``?version=N``."""
    chatbot = _or_404(chatbot_selectors.chatbot_get, chatbot_id=chatbot_id)
    version = _pick_version(chatbot, request.GET.get("version", "working"))
    participant = services.participant_for_member(user=request.user)
    try:
        session = services.session_start(
            chatbot=chatbot, version=version, participant=participant, platform=Platform.WEB, started_by=request.user
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("chatbots:chatbot_detail", chatbot_id=chatbot.pk)
    return redirect("conversations:chat", session_id=session.external_id)


def _pick_version(chatbot: Chatbot, value: str) -> ChatbotVersion | None:
    if value in ("", "working"):
        return None
    if value == "published":
        return chatbot.published_version
    if not value.isdigit():
        raise Http404
    return _or_404(chatbot_selectors.version_get, chatbot=chatbot, number=int(value))


def _member_session(session_id: uuid.UUID) -> ChatSession:
    session = _or_404(selectors.session_get, external_id=session_id)
    if session.platform != Platform.WEB:
        raise Http404
    return session


@members(Role.EDITOR)
def chat_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _member_session(session_id)
    return render(
        request, "conversations/chat.html", _chat_context(session, debug=True, chat_base=_member_base(session))
    )


def _member_base(session: ChatSession) -> str:
    return f"/chat/{session.external_id}/"


def _public_base(public_id: uuid.UUID, session: ChatSession) -> str:
    return f"/c/{public_id}/s/{session.external_id}/"


def _chat_context(session: ChatSession, *, debug: bool, chat_base: str) -> dict[str, Any]:
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
    }


def _file_base(session: ChatSession, chat_base: str, *, debug: bool) -> str:
    """Where a message's files download from: the members' route in the app, the visitor's on a public link."""
    return f"/sessions/{session.external_id}/files/" if debug else f"{chat_base}files/"


@members(Role.EDITOR)
@require_POST
def chat_send_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _member_session(session_id)
    return _send(request, session, debug=True, chat_base=_member_base(session))


def _send(request: HttpRequest, session: ChatSession, *, debug: bool, chat_base: str) -> HttpResponse:
    """Store the message and enqueue its turn. With ``?wait=<seconds>`` (the chat page asks for it) the request
    then waits for the reply like the reply poll does, so a turn is usually one request; otherwise, or when the
    reply takes longer, the answer holds a pending bubble that polls for it. The watch on the session's channel
    starts before the turn is enqueued, so no reply can come unseen and nothing is looked up before one comes."""
    reply = None
    with delivery.reply_watch(session=session, timeout=_wait_seconds(request)) as watch:
        try:
            attachments = uploads.attachments_store(session=session, uploads=request.FILES.getlist("files"))
            message = services.message_receive(
                session=session, content=request.POST.get("message", ""), attachments=attachments
            )
        except ApplicationError as exc:
            response = render(request, "conversations/partials/_chat_error.html", {"error": exc.message})
            response["HX-Retarget"] = "#composer-state"
            response["HX-Reswap"] = "innerHTML"
            return response
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
        },
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


@members(Role.EDITOR)
def chat_reply_view(request: HttpRequest, session_id: uuid.UUID, message_id: int) -> HttpResponse:
    session = _member_session(session_id)
    return _reply(request, session, message_id, debug=True, chat_base=_member_base(session))


def _reply(request: HttpRequest, session: ChatSession, message_id: int, *, debug: bool, chat_base: str) -> HttpResponse:
    """Long-polled by the pending bubble (``?wait=<seconds>``): answers as soon as the reply is committed; on
    timeout it returns the pending bubble again, which asks again."""
    message: ChatMessage | None = None
    lookup = _reply_lookup(session, message_id)
    reply, waited = _with_session_status(session, lookup()), False  # usually there already
    if reply is None:
        message = _or_404(selectors.message_get, session=session, message_id=message_id)
        reply, waited = delivery.wait_for_reply(session=session, lookup=lookup, timeout=_wait_seconds(request))
        _with_session_status(session, reply)
    if reply is not None and debug:  # only the trace panel needs the message itself, with its trace
        message = reply.reply_to = selectors.message_with_trace(session=session, message_id=message_id)
    return render(
        request,
        "conversations/partials/_reply.html",
        {
            "message": message,
            "reply": reply,
            "session": session,
            "debug": debug,
            "chat_base": chat_base,
            "poll_delay": "" if waited else " delay:1s",
        },
    )


@members(Role.EDITOR)
@require_POST
def chat_consent_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _member_session(session_id)
    services.session_consent_give(session=session)
    return redirect("conversations:chat", session_id=session.external_id)


@members(Role.EDITOR)
@require_POST
def chat_new_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """End this session and start a fresh one on the same version."""
    session = _member_session(session_id)
    services.session_end(session=session)
    version = session.version
    new = services.session_start(
        chatbot=session.chatbot,
        version=version,
        participant=session.participant,
        platform=Platform.WEB,
        started_by=request.user,
    )
    return redirect("conversations:chat", session_id=new.external_id)


@members()
def trace_view(request: HttpRequest, trace_id: int) -> HttpResponse:
    trace = _or_404(selectors.trace_get, trace_id=trace_id)
    template = "conversations/partials/_trace.html" if request.htmx else "conversations/trace_detail.html"  # type: ignore[attr-defined]
    return render(request, template, {"trace": trace})


# -------------------------------------------------------------------------------------------------- public link


_PUBLIC_KEY = "public_participants"


def _visitor_identifier(request: HttpRequest, public_id: uuid.UUID) -> str | None:
    """Which anonymous participant this browser is on the chatbot ``public_id`` (kept in its session)."""
    return request.session.get(_PUBLIC_KEY, {}).get(str(public_id))


def _public_participant(request: HttpRequest, chatbot: Chatbot) -> Any:
    """The anonymous participant this browser is for ``chatbot``, made on the first visit."""
    identifier = _visitor_identifier(request, chatbot.public_id)
    if identifier is None:
        identifier = f"anon:{uuid.uuid4()}"
        request.session[_PUBLIC_KEY] = {**request.session.get(_PUBLIC_KEY, {}), str(chatbot.public_id): identifier}
    return services.participant_get_or_create(platform=Platform.PUBLIC_LINK, identifier=identifier)


def _public_chatbot(public_id: uuid.UUID) -> Chatbot:
    chatbot = _or_404(chatbot_selectors.chatbot_get_public, public_id=public_id)
    if chatbot.published_version_id is None:
        raise Http404("This chatbot has no published version yet.")
    return chatbot


def _public_session(request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID) -> ChatSession:
    """The visitor's own session on a public, published chatbot (404 otherwise): one query."""
    identifier = _visitor_identifier(request, public_id)
    if identifier is None:
        raise Http404
    return _or_404(selectors.public_session_get, public_id=public_id, session_id=session_id, identifier=identifier)


@open_access
def public_chat_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Anyone with the link chats with the published version; the latest open session is resumed."""
    chatbot = _public_chatbot(public_id)
    participant = _public_participant(request, chatbot)
    session = None
    if request.GET.get("new") != "1":
        session = (
            ChatSession.objects.filter(chatbot=chatbot, participant=participant, platform=Platform.PUBLIC_LINK)
            .exclude(status=SessionStatus.ENDED)
            .order_by("-created_at")
            .first()
        )
    if session is None:
        session = services.session_start(
            chatbot=chatbot, version=chatbot.published_version, participant=participant, platform=Platform.PUBLIC_LINK
        )
        return redirect("conversations:public_chat", public_id=public_id)
    session.chatbot, session.participant = chatbot, participant  # loaded already
    if session.version_id == chatbot.published_version_id:
        session.version = chatbot.published_version
    context = _chat_context(session, debug=False, chat_base=_public_base(public_id, session))
    return render(request, "conversations/public_chat.html", context)


@open_access
@require_POST
def public_send_view(request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID) -> HttpResponse:
    session = _public_session(request, public_id, session_id)
    return _send(request, session, debug=False, chat_base=_public_base(public_id, session))


@open_access
def public_reply_view(
    request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID, message_id: int
) -> HttpResponse:
    session = _public_session(request, public_id, session_id)
    return _reply(request, session, message_id, debug=False, chat_base=_public_base(public_id, session))


@open_access
@require_POST
def public_consent_view(request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID) -> HttpResponse:
    services.session_consent_give(session=_public_session(request, public_id, session_id))
    return redirect("conversations:public_chat", public_id=public_id)


# ------------------------------------------------------------------------------------------------------ sessions


def _filters(request: HttpRequest) -> selectors.SessionFilters:
    def day(name: str) -> date | None:
        try:
            return date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    chatbot = request.GET.get("chatbot", "")
    return selectors.SessionFilters(
        chatbot_id=int(chatbot) if chatbot.isdigit() else None,
        version=request.GET.get("version", "").strip(),
        status=request.GET.get("status", ""),
        date_from=day("from"),
        date_to=day("to"),
        participant=request.GET.get("participant", "").strip()[:100],
        tag=request.GET.get("tag", "").strip()[:60],
    )


@members()
def session_list_view(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = Paginator(selectors.session_list(filters=filters), 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "conversations/session_list.html",
        {
            "page": page,
            "filters": filters,
            "chatbots": chatbot_selectors.chatbot_list(),
            "statuses": SessionStatus.choices,
            "tags": selectors.tag_names(),
            "query": query.urlencode(),
            "template": "conversations/partials/_session_rows.html" if request.htmx else None,  # type: ignore[attr-defined]
        },
    )


@members()
def session_detail_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _or_404(selectors.session_get, external_id=session_id)
    return render(
        request,
        "conversations/session_detail.html",
        {
            "session": session,
            "transcript": selectors.session_transcript(session=session),
            "tags": selectors.tag_names(),
        },
    )


@members(Role.EDITOR)
@require_POST
def session_end_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _or_404(selectors.session_get, external_id=session_id)
    services.session_end(session=session)
    messages.success(request, "Session ended.")
    return redirect("conversations:session_detail", session_id=session.external_id)


def _message(session_id: uuid.UUID, message_id: int) -> ChatMessage:
    session = _or_404(selectors.session_get, external_id=session_id)
    return _or_404(selectors.message_get, session=session, message_id=message_id)


def _review(request: HttpRequest, message: ChatMessage, action: Callable[[], object] | None) -> HttpResponse:
    """Run one review action (tag, untag, comment) and re-render the message's review strip with its outcome."""
    error = ""
    try:
        if action is not None:
            action()
    except ApplicationError as exc:
        error = exc.message
    context = {"message": message, "error": error, "session": message.session}
    return render(request, "conversations/partials/_message_review.html", context)


@members(Role.EDITOR)
@require_POST
def message_tag_view(request: HttpRequest, session_id: uuid.UUID, message_id: int) -> HttpResponse:
    message = _message(session_id, message_id)
    name = request.POST.get("tag", "")
    return _review(request, message, lambda: services.message_tag_add(message=message, name=name, user=request.user))


@members(Role.EDITOR)
@require_POST
def message_untag_view(request: HttpRequest, session_id: uuid.UUID, message_id: int, tag_id: int) -> HttpResponse:
    message = _message(session_id, message_id)
    tag = Tag.objects.filter(pk=tag_id).first()
    return _review(
        request, message, None if tag is None else lambda: services.message_tag_remove(message=message, tag=tag)
    )


@members(Role.EDITOR)
@require_POST
def message_comment_view(request: HttpRequest, session_id: uuid.UUID, message_id: int) -> HttpResponse:
    message = _message(session_id, message_id)
    text = request.POST.get("text", "")
    return _review(
        request, message, lambda: services.message_comment_add(message=message, text=text, user=request.user)
    )


@members(Role.EDITOR)
@require_POST
def export_create_view(request: HttpRequest) -> HttpResponse:
    export = exports.export_create(filters=_filters(request), user=request.user)
    return redirect("conversations:export_detail", session_export_id=export.pk)


def _file_response(session: ChatSession, file_id: int) -> FileResponse:
    chat_file = uploads.chat_file_get(session=session, file_id=file_id)
    if chat_file is None:
        raise Http404
    response = FileResponse(chat_file.file.open("rb"), as_attachment=True, filename=chat_file.name)
    response["Content-Type"] = "application/octet-stream"  # a download, never rendered in our origin
    return response


@members()
def session_file_view(request: HttpRequest, session_id: uuid.UUID, file_id: int) -> FileResponse:
    """A file a participant sent (team members; any session of the team)."""
    return _file_response(_or_404(selectors.session_get, external_id=session_id), file_id)


@open_access
def public_file_view(request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID, file_id: int) -> FileResponse:
    """A file the visitor sent in their own public-link session."""
    return _file_response(_public_session(request, public_id, session_id), file_id)


def _export(session_export_id: int) -> SessionExport:
    export = SessionExport.objects.filter(pk=session_export_id).first()
    if export is None:
        raise Http404
    return export


@members(Role.EDITOR)
def export_detail_view(request: HttpRequest, session_export_id: int) -> HttpResponse:
    export = _export(session_export_id)
    template = "conversations/partials/_export_progress.html" if request.htmx else "conversations/export_detail.html"  # type: ignore[attr-defined]
    return render(request, template, {"export": export})


@members(Role.EDITOR)
def export_download_view(request: HttpRequest, session_export_id: int) -> FileResponse:
    path = exports.export_path(_export(session_export_id))
    if path is None:
        raise Http404("The export is not ready.")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="text/csv")

"""Review pages for team members: the filtered sessions list, a transcript with tags, comments and traces, ending a
session, the files participants sent, and the CSV export with its progress.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.conversations import exports, selectors, services
from tenant_apps.conversations.enums import SessionStatus
from tenant_apps.conversations.models import ChatMessage, SessionExport
from tenant_apps.conversations.views import chat
from tenant_apps.conversations.views.chat import or_404
from tenants.access import members
from tenants.enums import Role


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
        text=request.GET.get("q", "").strip()[:200],
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
        },
    )


@members()
def session_detail_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = or_404(selectors.session_get, external_id=session_id)
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
    session = or_404(selectors.session_get, external_id=session_id)
    services.session_end(session=session)
    messages.success(request, "Session ended.")
    return redirect("conversations:session_detail", session_id=session.external_id)


@members()
def session_file_view(request: HttpRequest, session_id: uuid.UUID, file_id: int) -> FileResponse:
    """A file a participant sent (team members; any session of the team)."""
    return chat.file_download(or_404(selectors.session_get, external_id=session_id), file_id)


@members()
def trace_view(request: HttpRequest, trace_id: int) -> HttpResponse:
    trace = or_404(selectors.trace_get, trace_id=trace_id)
    template = "conversations/partials/_trace.html" if request.htmx else "conversations/trace_detail.html"  # type: ignore[attr-defined]
    return render(request, template, {"trace": trace})


# ----------------------------------------------------------------------------------------- tags and comments


def _message(session_id: uuid.UUID, message_id: int) -> ChatMessage:
    session = or_404(selectors.session_get, external_id=session_id)
    return or_404(selectors.message_get, session=session, message_id=message_id)


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
    tag = selectors.tag_get(tag_id=tag_id)
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


# --------------------------------------------------------------------------------------------------- exports


@members(Role.EDITOR)
@require_POST
def export_create_view(request: HttpRequest) -> HttpResponse:
    export = services.export_create(filters=_filters(request), user=request.user)
    return redirect("conversations:export_detail", session_export_id=export.pk)


def _export(session_export_id: int) -> SessionExport:
    export = selectors.session_export_get(export_id=session_export_id)
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

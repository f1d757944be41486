"""In-app chat for team members: pick the working copy or any version, chat, see each turn's trace."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.conversations import ingress, selectors, services
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import ChatSession
from tenant_apps.conversations.views import chat
from tenant_apps.conversations.views.chat import or_404
from tenants.access import members
from tenants.enums import Role


@members(Role.EDITOR)
def chat_start_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    """Open a new in-app session on the working copy or on ``?version=N``."""
    chatbot = or_404(chatbot_selectors.chatbot_get, chatbot_id=chatbot_id)
    version = _pick_version(chatbot, request.GET.get("version", "working"))
    try:
        session, _ = ingress.session_open(
            chatbot=chatbot,
            participant=ingress.participant_resolve(ingress.ParticipantRef.member(request.user)),
            platform=Platform.WEB,
            version=version,
            resume=False,
            started_by=request.user,
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
    return or_404(chatbot_selectors.version_get, chatbot=chatbot, number=int(value))


def _member_session(session_id: uuid.UUID) -> ChatSession:
    session = or_404(selectors.session_get, external_id=session_id)
    if session.platform != Platform.WEB:
        raise Http404
    return session


def _member_base(session: ChatSession) -> str:
    return f"/chat/{session.external_id}/"


@members(Role.EDITOR)
def chat_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _member_session(session_id)
    context = chat.chat_context(session, debug=True, chat_base=_member_base(session))
    return render(request, "conversations/chat.html", context)


@members(Role.EDITOR)
@require_POST
def chat_send_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _member_session(session_id)
    return chat.send(request, session, debug=True, chat_base=_member_base(session))


@members(Role.EDITOR)
def chat_reply_view(request: HttpRequest, session_id: uuid.UUID, message_id: int) -> HttpResponse:
    session = _member_session(session_id)
    return chat.reply(request, session, message_id, debug=True, chat_base=_member_base(session))


@members(Role.EDITOR)
@require_POST
def chat_consent_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    session = _member_session(session_id)
    services.session_consent_give(session=session)
    return redirect("conversations:chat", session_id=session.external_id)


@members(Role.EDITOR)
@require_POST
def chat_new_view(request: HttpRequest, session_id: uuid.UUID) -> HttpResponse:
    """End this session and start a fresh one on the same version (both or neither)."""
    session = _member_session(session_id)
    try:
        new = services.session_restart(session=session, started_by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("conversations:chat", session_id=session.external_id)
    return redirect("conversations:chat", session_id=new.external_id)

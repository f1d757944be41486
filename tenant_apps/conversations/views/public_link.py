"""The public link of a chatbot marked public: anyone with it chats with the published version, without the trace
panel. The browser's session cookie remembers which anonymous participant it is on each chatbot.
"""

from __future__ import annotations

import json
import uuid

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations import ingress, selectors, services
from tenant_apps.conversations.enums import Platform, SessionStatus
from tenant_apps.conversations.models import ChatSession
from tenant_apps.conversations.views import chat
from tenant_apps.conversations.views.chat import or_404
from tenants.access import open_access

_PUBLIC_KEY = "public_participants"


def _visitor_identifier(request: HttpRequest, public_id: uuid.UUID) -> str | None:
    """Which anonymous participant this browser is on the chatbot ``public_id`` (kept in its session)."""
    return request.session.get(_PUBLIC_KEY, {}).get(str(public_id))


def _visitor(request: HttpRequest, chatbot: Chatbot) -> ingress.ParticipantRef:
    """The anonymous participant this browser is for ``chatbot`` (a new identifier on the first visit)."""
    identifier = _visitor_identifier(request, chatbot.public_id)
    if identifier is None:
        identifier = f"anon:{uuid.uuid4()}"
        request.session[_PUBLIC_KEY] = {**request.session.get(_PUBLIC_KEY, {}), str(chatbot.public_id): identifier}
    return ingress.ParticipantRef(platform=Platform.PUBLIC_LINK, identifier=identifier)


def _public_chatbot(public_id: uuid.UUID) -> Chatbot:
    chatbot = or_404(chatbot_selectors.chatbot_get_public, public_id=public_id)
    if chatbot.published_version_id is None:
        raise Http404("This chatbot has no published version yet.")
    return chatbot


def _public_session(request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID) -> ChatSession:
    """The visitor's own session on a public, published chatbot (404 otherwise): one query."""
    identifier = _visitor_identifier(request, public_id)
    if identifier is None:
        raise Http404
    return or_404(selectors.public_session_get, public_id=public_id, session_id=session_id, identifier=identifier)


def _public_base(public_id: uuid.UUID, session: ChatSession) -> str:
    return f"/c/{public_id}/s/{session.external_id}/"


@open_access
def public_chat_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Anyone with the link chats with the published version; the visitor's latest open session is resumed. Opening
    the page creates nothing (link previews and crawlers cost no session, participant or model call): the first
    message starts the session (``public_start_send_view``), ``?new=1`` makes it a new one."""
    chatbot = _public_chatbot(public_id)
    identifier = _visitor_identifier(request, public_id)
    new = request.GET.get("new") == "1"
    session = None
    if identifier is not None and not new:
        session = selectors.public_session_latest(chatbot=chatbot, identifier=identifier)
    if session is not None:
        context = chat.chat_context(session, debug=False, chat_base=_public_base(public_id, session))
        return render(request, "conversations/public_chat.html", context)
    return render(request, "conversations/public_chat.html", chat.chat_context_unstarted(chatbot, new_session=new))


@open_access
@require_POST
def public_start_send_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The first message of a visit: start (or, unless ``?new=1``, resume) the visitor's session, then send. The
    page learns the session's address from the ``chat-session`` event and sends there from then on."""
    chatbot = _public_chatbot(public_id)
    try:
        session, started = ingress.session_open(
            chatbot=chatbot,
            participant=ingress.participant_resolve(_visitor(request, chatbot)),
            platform=Platform.PUBLIC_LINK,
            version=chatbot.published_version,
            resume=request.GET.get("new") != "1",
        )
    except ApplicationError as exc:
        return chat.error_answer(request, exc)
    if session.status == SessionStatus.PENDING_CONSENT:  # consent comes first: the page shows its form
        response = HttpResponse(status=204)
        response["HX-Redirect"] = f"/c/{public_id}/"
        return response
    base = _public_base(public_id, session)
    before = selectors.chat_transcript(session=session, with_traces=False) if started else None
    response = chat.send(request, session, debug=False, chat_base=base, before=before)
    response["HX-Trigger"] = json.dumps({"chat-session": {"base": base}})
    return response


@open_access
@require_POST
def public_start_consent_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """ "I agree" before the first message: start the visitor's session with consent given."""
    chatbot = _public_chatbot(public_id)
    try:
        session, _ = ingress.session_open(
            chatbot=chatbot,
            participant=ingress.participant_resolve(_visitor(request, chatbot)),
            platform=Platform.PUBLIC_LINK,
            version=chatbot.published_version,
            resume=request.GET.get("new") != "1",
        )
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    services.session_consent_give(session=session)
    return redirect("conversations:public_chat", public_id=public_id)


@open_access
@require_POST
def public_send_view(request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID) -> HttpResponse:
    session = _public_session(request, public_id, session_id)
    return chat.send(request, session, debug=False, chat_base=_public_base(public_id, session))


@open_access
def public_reply_view(
    request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID, message_id: int
) -> HttpResponse:
    session = _public_session(request, public_id, session_id)
    return chat.reply(request, session, message_id, debug=False, chat_base=_public_base(public_id, session))


@open_access
@require_POST
def public_consent_view(request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID) -> HttpResponse:
    services.session_consent_give(session=_public_session(request, public_id, session_id))
    return redirect("conversations:public_chat", public_id=public_id)


@open_access
def public_file_view(request: HttpRequest, public_id: uuid.UUID, session_id: uuid.UUID, file_id: int) -> FileResponse:
    """A file the visitor sent in their own public-link session."""
    return chat.file_download(_public_session(request, public_id, session_id), file_id)

"""The public link of a chatbot marked public: anyone with it chats with the published version, without the trace
panel. The browser's session cookie remembers which anonymous participant it is on each chatbot.

Anonymous chat is rate limited per visitor (address) and per chatbot (ADR 0067): messages before they are stored,
new sessions before they are started. Over a limit the answer is a 429 with ``Retry-After`` that says, in the page,
when to try again.
"""

from __future__ import annotations

import json
import uuid

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.ratelimit import RateLimitStatus, client_ip, rate_limit_check, rate_limit_headers
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


def _throttled(request: HttpRequest, public_id: uuid.UUID, what: str) -> RateLimitStatus | None:
    """Count one ``what`` ("message" or "session") for this visitor and this chatbot; the refusal when either is over
    its limit (``APP_RATE_LIMITS["public_chat.<what>.visitor|chatbot"]``), else None."""
    visitor = rate_limit_check(scope=f"public_chat.{what}.visitor", ident=f"{public_id}:{client_ip(request)}")
    if not visitor.allowed:
        return visitor
    chatbot = rate_limit_check(scope=f"public_chat.{what}.chatbot", ident=str(public_id))
    return None if chatbot.allowed else chatbot


def _message_refused(request: HttpRequest, refused: RateLimitStatus) -> HttpResponse:
    error = f"You're sending messages faster than this chat can take them. Please wait {_wait_text(refused.reset)}"
    return _refused(
        chat.error_answer(request, ApplicationError(code="chat.rate_limited", message=error + " and try again.")),
        refused,
    )


def _session_throttled(request: HttpRequest, public_id: uuid.UUID) -> RateLimitStatus | None:
    """A new session is counted when this request would start one (first contact, or ``?new=1``)."""
    if request.GET.get("new") == "1" or _visitor_identifier(request, public_id) is None:
        return _throttled(request, public_id, "session")
    return None


def _wait_text(seconds: int) -> str:
    return f"{seconds} seconds" if seconds < 120 else f"{(seconds + 59) // 60} minutes"


def _refused(response: HttpResponse, status: RateLimitStatus) -> HttpResponse:
    response.status_code = 429
    for name, value in rate_limit_headers(status).items():
        response[name] = value
    return response


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
    if (refused := _session_throttled(request, public_id)) is not None:
        error = f"Too many new conversations from here. Please wait {_wait_text(refused.reset)} and try again."
        return _refused(chat.error_answer(request, ApplicationError(code="chat.rate_limited", message=error)), refused)
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
    if (refused := _throttled(request, public_id, "message")) is not None:
        return _message_refused(request, refused)
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
    if (refused := _session_throttled(request, public_id)) is not None:
        page = render(
            request,
            "conversations/public_rate_limited.html",
            {"chatbot": chatbot, "wait": _wait_text(refused.reset), "retry_after": refused.reset},
        )
        return _refused(page, refused)
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
    if (refused := _throttled(request, public_id, "message")) is not None:
        return _message_refused(request, refused)
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

"""Reads of sessions, transcripts and traces (the chat's hot ones through ``turn_sql``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Left
from django.utils import timezone

from shared_apps.core.exceptions import NotFoundError
from shared_apps.core.prepared import as_uuid
from tenant_apps.conversations import turn_sql
from tenant_apps.conversations.enums import MessageRole, Platform, SessionStatus
from tenant_apps.conversations.models import (
    ChatMessage,
    ChatSession,
    MessageComment,
    Participant,
    ParticipantData,
    SessionExport,
    Tag,
    Trace,
)


@dataclass(frozen=True)
class SessionFilters:
    chatbot_id: int | None = None
    version: str = ""  # "" any, "working", or a version number
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    participant: str = ""
    tag: str = ""
    text: str = ""  # words in any visible message of the session

    def as_dict(self) -> dict[str, Any]:
        return {
            "chatbot_id": self.chatbot_id,
            "version": self.version,
            "status": self.status,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "participant": self.participant,
            "tag": self.tag,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SessionFilters:
        return cls(
            chatbot_id=data.get("chatbot_id"),
            version=data.get("version") or "",
            status=data.get("status") or "",
            date_from=date.fromisoformat(data["date_from"]) if data.get("date_from") else None,
            date_to=date.fromisoformat(data["date_to"]) if data.get("date_to") else None,
            participant=data.get("participant") or "",
            tag=data.get("tag") or "",
            text=data.get("text") or "",
        )


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


PREVIEW_CHARS = 120


def session_list(*, filters: SessionFilters) -> QuerySet[ChatSession]:
    """Sessions matching the filters, newest first, each with its visible message count and a preview of its
    last visible message (``last_message``, at most PREVIEW_CHARS characters)."""
    last_visible = ChatMessage.objects.filter(session=OuterRef("pk"), hidden=False).order_by("-created_at", "-id")
    qs = ChatSession.objects.select_related("chatbot", "version", "participant").annotate(
        message_count=Count("messages", filter=Q(messages__hidden=False)),
        last_message=Subquery(last_visible.annotate(preview=Left("content", PREVIEW_CHARS)).values("preview")[:1]),
    )
    if filters.chatbot_id:
        qs = qs.filter(chatbot_id=filters.chatbot_id)
    if filters.version == "working":
        qs = qs.filter(version__isnull=True)
    elif filters.version.isdigit():
        qs = qs.filter(version__number=int(filters.version))
    if filters.status in SessionStatus.values:
        qs = qs.filter(status=filters.status)
    if filters.date_from:
        qs = qs.filter(created_at__gte=_day_start(filters.date_from))
    if filters.date_to:
        qs = qs.filter(created_at__lt=_day_start(filters.date_to) + timedelta(days=1))
    if filters.participant:
        qs = qs.filter(
            Q(participant__identifier__icontains=filters.participant)
            | Q(participant__name__icontains=filters.participant)
        )
    if filters.tag:
        qs = qs.filter(messages__tags__name=filters.tag).distinct()
    if filters.text:
        matching = ChatMessage.objects.filter(session=OuterRef("pk"), hidden=False, content__icontains=filters.text)
        qs = qs.filter(Exists(matching))
    return qs.order_by("-created_at", "-id")


def session_get(*, external_id: Any) -> ChatSession:
    """A session with its chatbot, version and participant (every in-app chat request starts here)."""
    session_uuid = as_uuid(external_id)
    session = turn_sql.session_by_external_id(session_uuid) if session_uuid else None
    if session is None:
        raise NotFoundError(code="session.not_found", message="No such session.")
    return session


def session_transcript(*, session: ChatSession) -> QuerySet[ChatMessage]:
    """What the review pages show: the visible messages with their traces, tags and comments."""
    return (
        session.messages.filter(hidden=False)
        .select_related("trace", "reply_to__trace")
        .prefetch_related("tags", Prefetch("comments", queryset=MessageComment.objects.select_related("user")))
    )


def chat_transcript(*, session: ChatSession, with_traces: bool) -> list[ChatMessage]:
    """What the chat page shows: all messages (a hidden one may hold a pending turn); in the app, with each turn's
    trace for the trace links. Tags and comments belong to the review pages."""
    messages = session.messages.all()
    return list(messages.select_related("reply_to__trace") if with_traces else messages)


def message_get(*, session: ChatSession, message_id: int) -> ChatMessage:
    message = session.messages.filter(pk=message_id).first()
    if message is None:
        raise NotFoundError(code="message.not_found", message="No such message.")
    return message


def reply_for(*, session: ChatSession, message_id: int) -> ChatMessage | None:
    """The reply to a message of ``session``, with the session's current status as ``session_status`` (the turn
    may have ended the session): one query, the long poll's hot path."""
    return turn_sql.reply_for(message_id=message_id, session_id=session.pk)


def message_with_trace(*, session: ChatSession, message_id: int) -> ChatMessage:
    message = session.messages.select_related("trace").filter(pk=message_id).first()
    if message is None:
        raise NotFoundError(code="message.not_found", message="No such message.")
    return message


def trace_for_message(*, session: ChatSession, message_id: int) -> Trace | None:
    """The trace of the turn a participant message started (None while it runs)."""
    return Trace.objects.filter(session=session, message_id=message_id).first()


def public_session_get(*, public_id: Any, session_id: Any, identifier: str) -> ChatSession:
    """A public-link session of the visitor ``identifier`` on a public, published chatbot: one query. Its chatbot,
    version and participant load on first use (the send and reply paths rarely need them)."""
    session_uuid, public_uuid = as_uuid(session_id), as_uuid(public_id)
    session = None
    if session_uuid and public_uuid:
        session = turn_sql.public_session(session_id=session_uuid, identifier=identifier, public_id=public_uuid)
    if session is None:
        raise NotFoundError(code="session.not_found", message="No such session.")
    return session


def trace_get(*, trace_id: int) -> Trace:
    trace = Trace.objects.select_related("session__chatbot", "message").filter(pk=trace_id).first()
    if trace is None:
        raise NotFoundError(code="trace.not_found", message="No such trace.")
    return trace


def tag_names() -> list[str]:
    return list(Tag.objects.order_by("name").values_list("name", flat=True))


def tag_get(*, tag_id: int) -> Tag | None:
    return Tag.objects.filter(pk=tag_id).first()


def session_export_get(*, export_id: int) -> SessionExport | None:
    return SessionExport.objects.filter(pk=export_id).first()


def session_latest_open(*, chatbot_id: int, participant_id: int, platform: str) -> ChatSession | None:
    """The participant's newest session on the chatbot and platform that has not ended (the one to resume)."""
    return (
        ChatSession.objects.filter(chatbot_id=chatbot_id, participant_id=participant_id, platform=platform)
        .exclude(status=SessionStatus.ENDED)
        .order_by("-created_at")
        .first()
    )


def public_session_latest(*, chatbot: Any, identifier: str) -> ChatSession | None:
    """The public-link visitor ``identifier``'s newest open session on ``chatbot`` (None: nothing is created)."""
    return (
        ChatSession.objects.filter(
            chatbot=chatbot,
            platform=Platform.PUBLIC_LINK,
            participant__platform=Platform.PUBLIC_LINK,
            participant__identifier=identifier,
        )
        .exclude(status=SessionStatus.ENDED)
        .select_related("chatbot", "version", "participant")
        .order_by("-created_at")
        .first()
    )


def message_by_external_id(*, chatbot_id: int, participant_id: int, external_id: str) -> ChatMessage | None:
    """The participant's message with the platform's id ``external_id`` in any of their sessions on the chatbot:
    how a redelivery is recognised after the session it came in has ended."""
    return (
        ChatMessage.objects.select_related("session")
        .filter(
            session__chatbot_id=chatbot_id,
            session__participant_id=participant_id,
            external_id=external_id,
            role=MessageRole.USER,
        )
        .first()
    )


def participant_last_message(*, participant_id: int, session_ids: Any) -> ChatMessage | None:
    """The participant's newest visible message in ``session_ids`` (a channel's sessions), with only its time and
    metadata loaded: where a platform's reply window starts."""
    return (
        ChatMessage.objects.filter(
            session_id__in=session_ids, session__participant_id=participant_id, role=MessageRole.USER, hidden=False
        )
        .only("id", "created_at", "metadata")
        .order_by("-created_at", "-id")
        .first()
    )


def sessions_by_external_id(*, chatbot_id: int, external_ids: list[Any]) -> list[ChatSession]:
    """The chatbot's sessions among ``external_ids``: a channel that keys sessions by a platform conversation
    (a Slack thread) derives their ids and finds them with one indexed read."""
    return list(ChatSession.objects.filter(chatbot_id=chatbot_id, external_id__in=external_ids))


def message_in_sessions(*, session_ids: list[int], external_id: str) -> ChatMessage | None:
    """The participant message with the platform's id ``external_id`` in one of ``session_ids`` (a redelivery)."""
    return (
        ChatMessage.objects.select_related("session")
        .filter(session_id__in=session_ids, external_id=external_id, role=MessageRole.USER)
        .first()
    )


def bot_messages_to(*, participant_identifier: str, session_ids: Any) -> QuerySet[ChatMessage]:
    """The bot's messages (replies and others) to the participant in ``session_ids``, newest first, with only their
    metadata loaded (a platform's delivery statuses are written on them)."""
    return (
        ChatMessage.objects.filter(
            session_id__in=session_ids,
            session__participant__identifier=participant_identifier,
            role__in=(MessageRole.ASSISTANT, MessageRole.SYSTEM),
        )
        .only("id", "created_at", "metadata")
        .order_by("-id")
    )


def session_latest_external_id(*, session_id: int) -> str | None:
    """The platform id of the session's newest participant message that has one (where a platform reply goes
    when it answers no such message: the seed, a bot-initiated message)."""
    return (
        ChatMessage.objects.filter(session_id=session_id, role=MessageRole.USER, external_id__isnull=False)
        .order_by("-id")
        .values_list("external_id", flat=True)
        .first()
    )


def message_for_delivery(*, message_id: int) -> ChatMessage | None:
    """A reply with what a channel's sender needs (session, participant, the message it answers): one query."""
    return ChatMessage.objects.select_related("session__participant", "reply_to").filter(pk=message_id).first()


def messages_since(
    *,
    session: ChatSession,
    since: datetime | None,
    limit: int,
    participant_messages: bool = True,
    turn_replies_after: timedelta | None = None,
) -> tuple[list[ChatMessage], bool]:
    """Visible messages of ``session`` created after ``since`` (exclusive), oldest first, at most ``limit``; and
    whether there are more. Without ``participant_messages`` the participant's own are left out. With
    ``turn_replies_after``, so are the replies to the participant's visible messages that came within that long of
    their message (the widget's task poll shows those; its session poll must not show them again, ADR 0100)."""
    qs = session.messages.filter(hidden=False)
    if since is not None:
        qs = qs.filter(created_at__gt=since)
    if not participant_messages:
        qs = qs.exclude(role=MessageRole.USER)
    if turn_replies_after is not None:
        qs = qs.exclude(
            reply_to__role=MessageRole.USER,
            reply_to__hidden=False,
            created_at__lte=F("reply_to__created_at") + turn_replies_after,
        )
    rows = list(qs.order_by("created_at", "id")[: limit + 1])
    return rows[:limit], len(rows) > limit


def participant_list(*, platform: str = "", identifier: str = "") -> QuerySet[Participant]:
    qs = Participant.objects.all()  # no team filter: the schema is the team
    if platform:
        qs = qs.filter(platform=platform)
    if identifier:
        qs = qs.filter(identifier__icontains=identifier)
    return qs.order_by("-created_at", "-id")


def participant_get(*, participant_id: int) -> Participant:
    participant = Participant.objects.filter(pk=participant_id).first()
    if participant is None:
        raise NotFoundError(code="participant.not_found", message="No such participant.")
    return participant


def participant_data_list(*, participant: Participant, chatbot_id: int | None = None) -> QuerySet[ParticipantData]:
    qs = ParticipantData.objects.filter(participant=participant)
    if chatbot_id is not None:
        qs = qs.filter(chatbot_id=chatbot_id)
    return qs.order_by("chatbot_id")

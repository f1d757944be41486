"""The one way in for a participant's message (ARCHITECTURE §4; ADR 0050). Every channel comes through here: the
in-app chat and the public link today, the widget API, platform webhooks, the REST API and the OpenAI-compatible
endpoint next. Callers authenticate and parse; this module does the rest, the same way for all of them:

1. find the session: the caller already has it (``message_receive``), or the participant's open session on the
   chatbot is resumed and otherwise one is started (``session_open``, ``message_receive_for``);
2. store the message with its files in one transaction, before anything is acknowledged: new files
   (``Inbound.files``) and files uploaded earlier (``Inbound.attachment_ids``) alike; a message that is refused or
   rolled back leaves no file and no row behind;
3. honour the platform's message id (``Inbound.external_id``) as an idempotency key: a redelivery returns the
   first delivery's message (``Received.created`` is False) and never starts a second turn;
4. enqueue the turn once that commits (``services.turn_enqueue``).

A plain text message is a single INSERT committed on its own (the send is on the hot path, ADR 0040); files,
``context`` or a pending consent make it a transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, JSONField, Value
from django.db.models.expressions import CombinedExpression

from shared_apps.core.exceptions import InvalidStateError
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.chatbots.selectors import bot_config
from tenant_apps.conversations import delivery, hooks, selectors, services, turn_sql, uploads
from tenant_apps.conversations.enums import MessageRole, Platform, SessionStatus, TurnStatus
from tenant_apps.conversations.models import ChatFile, ChatMessage, ChatSession, Participant

MAX_TEXT = 20_000
MAX_CONTEXT_BYTES = 16_384
MAX_HISTORY = 200
CONTEXT_KEY = "remote_context"  # where ``Inbound.context`` lands in the session state (as Open Chat Studio does)


@dataclass(frozen=True, kw_only=True)
class Inbound:
    """One inbound message as the channel parsed it.

    ``files`` are new files to store with it; ``attachment_ids`` name files this session uploaded earlier and no
    message has attached yet (the widget's upload endpoint, ``uploads.files_upload``). ``external_id`` is the
    platform's message id: a redelivery with the same id is the same message. ``context`` (a JSON object, at most
    16 KB) is stored on the session, in its state under ``remote_context``, where pipelines read it. ``history``
    is earlier turns the caller replays (the OpenAI-compatible endpoint's ``messages``): ``(role, text)`` pairs with
    role ``user`` or ``assistant``, stored before the message in the same transaction, so the turn reads them as
    the session's history (at most ``MAX_HISTORY`` of them, each within ``MAX_TEXT``). ``metadata`` is what the
    platform said about the message beyond its text (its own timestamp, media ids), stored on it as given.
    """

    text: str = ""
    files: Sequence[UploadedFile] = ()
    attachment_ids: Sequence[int] = ()
    external_id: str | None = None
    context: Mapping[str, Any] | None = None
    # A message the bot is sent on the participant's behalf (an event's "send a message to the bot"): stored
    # hidden, answered by a normal turn, and not itself a "new participant message" event.
    hidden: bool = False
    history: Sequence[tuple[str, str]] = ()
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ParticipantRef:
    """Who sent it: a platform and the platform's id for the person (a phone number, a Telegram or Slack user id,
    the widget's ``participant_remote_id``, ``anon:<uuid>`` for a public-link visitor, a member's email in the app).
    ``user`` is the team member chatting in the app, if any."""

    platform: str
    identifier: str
    name: str = ""
    user: Any = None

    @classmethod
    def member(cls, user: Any) -> ParticipantRef:
        """A team member chatting in the app."""
        return cls(platform=Platform.WEB, identifier=user.email, name=user.display_name, user=user)


@dataclass(frozen=True)
class Received:
    """What ``message_receive`` stored: the message and its session. ``created`` is False for a redelivery (the
    first delivery's message; no turn was enqueued for it this time)."""

    message: ChatMessage
    session: ChatSession
    created: bool = True


@dataclass(frozen=True)
class _Parsed:
    text: str
    files: list[uploads.CheckedFile] = field(default_factory=list)


def participant_resolve(ref: ParticipantRef) -> Participant:
    """The participant ``ref`` names, made on first contact (name and member link kept up to date)."""
    return services.participant_get_or_create(
        platform=ref.platform, identifier=ref.identifier, name=ref.name, user=ref.user
    )


def session_open(
    *,
    chatbot: Chatbot,
    participant: Participant,
    platform: str,
    version: ChatbotVersion | None,
    resume: bool = True,
    started_by: Any = None,
) -> tuple[ChatSession, bool]:
    """The participant's session on ``chatbot`` over ``platform``: with ``resume``, their newest session that has
    not ended; otherwise (or when there is none) a new one pinned to ``version`` (None = the working copy, for
    team members only; channels pass the published version). Returns (session, started). An open session keeps
    the version it started on. Raises what ``services.session_start`` raises (archived chatbot, not allowed)."""
    session = _latest_open(chatbot, participant, platform, version) if resume else None
    if session is not None:
        return session, False
    session = services.session_start(
        chatbot=chatbot, version=version, participant=participant, platform=platform, started_by=started_by
    )
    return session, True


def message_receive(*, session: ChatSession, inbound: Inbound) -> Received:
    """Store ``inbound`` in ``session`` with its files and enqueue its turn (ARCHITECTURE §4, steps 2 to 4).

    Everything is checked before anything is written: an ended session (``session.ended``), an empty or too long
    message, the files (``upload.*``), the context (``message.context_*``); any of these raises
    ``InvalidStateError`` and stores nothing. While consent is pending the consent prompt is answered instead of
    running the pipeline, and the participant's confirmation text gives consent.
    """
    parsed = _parse(session, inbound)
    consent_pending = session.status == SessionStatus.PENDING_CONSENT
    several_writes = (
        bool(parsed.files or inbound.attachment_ids or inbound.history)
        or inbound.context is not None
        or consent_pending
    )
    try:
        with uploads.removed_on_failure() as stored, turn_sql.transaction_if(several_writes):
            files = uploads.files_claim(session=session, ids=inbound.attachment_ids) if inbound.attachment_ids else []
            files += uploads.files_store(session=session, files=parsed.files, into=stored)
            if inbound.history:
                _history_store(session, inbound.history)
            message = ChatMessage(
                session=session,
                role=MessageRole.USER,
                content=parsed.text,
                external_id=inbound.external_id,
                attachments=[uploads.attachment_entry(chat_file) for chat_file in files],
                turn_status=TurnStatus.NONE if consent_pending else TurnStatus.PENDING,
                hidden=inbound.hidden,
                metadata=dict(inbound.metadata or {}),
            )
            turn_sql.message_insert(message)
            if files:
                uploads.files_attach(files=files, message=message)
            if inbound.context is not None:
                _context_store(session, inbound.context)
            if consent_pending:
                _consent_answer(session=session, message=message)
    except IntegrityError:
        if inbound.external_id is None:
            raise
        existing = ChatMessage.objects.filter(session=session, external_id=inbound.external_id).first()
        if existing is None:
            raise
        return Received(existing, session, created=False)
    if not consent_pending:
        services.turn_enqueue(message)
    if not inbound.hidden:
        hooks.emit(hooks.Occurrence(hooks.ConversationEvent.PARTICIPANT_MESSAGE, session, message))
    return Received(message, session)


def message_receive_for(
    *,
    chatbot: Chatbot,
    participant: ParticipantRef,
    platform: str,
    inbound: Inbound,
    version: ChatbotVersion | None,
) -> Received:
    """A message from someone a channel knows only by its platform id (webhooks, the API): resolve the participant,
    resume their open session or start one on ``version``, then ``message_receive``. A redelivery of a message
    whose session has ended since is still recognised by its ``external_id`` and answered with the first message.
    """
    person = participant_resolve(participant)
    session = _latest_open(chatbot, person, platform, version)
    if session is None:
        if inbound.external_id is not None:
            earlier = selectors.message_by_external_id(
                chatbot_id=chatbot.pk, participant_id=person.pk, external_id=inbound.external_id
            )
            if earlier is not None:
                return Received(earlier, earlier.session, created=False)
        session = services.session_start(chatbot=chatbot, version=version, participant=person, platform=platform)
    return message_receive(session=session, inbound=inbound)


def files_upload(*, session: ChatSession, files: Sequence[UploadedFile]) -> list[ChatFile]:
    """Files a participant uploads before the message that names them (the widget's upload endpoint; the message
    then sends their ids as ``Inbound.attachment_ids``). All or nothing; raises ``session.ended`` and ``upload.*``."""
    return uploads.files_upload(session=session, files=files)


# ---------------------------------------------------------------------------------------------------- helpers


def _latest_open(
    chatbot: Chatbot, participant: Participant, platform: str, version: ChatbotVersion | None
) -> ChatSession | None:
    session = selectors.session_latest_open(chatbot_id=chatbot.pk, participant_id=participant.pk, platform=platform)
    if session is not None:
        session.chatbot, session.participant = chatbot, participant  # loaded already
        if version is not None and session.version_id == version.pk:
            session.version = version
    return session


def _parse(session: ChatSession, inbound: Inbound) -> _Parsed:
    text = inbound.text.strip()
    if session.is_ended:
        raise InvalidStateError(code="session.ended", message="This conversation has ended. Start a new one.")
    if not text and not inbound.files and not inbound.attachment_ids:
        raise InvalidStateError(code="message.empty", message="Write a message first.")
    if len(text) > MAX_TEXT:
        raise InvalidStateError(code="message.too_long", message="That message is too long (20,000 characters max).")
    if inbound.context is not None:
        _context_check(inbound.context)
    if inbound.history:
        _history_check(inbound.history)
    files = uploads.files_check(session=session, files=inbound.files, already=len(inbound.attachment_ids))
    return _Parsed(text=text, files=files)


def _history_check(history: Sequence[tuple[str, str]]) -> None:
    if len(history) > MAX_HISTORY:
        raise InvalidStateError(
            code="message.history_too_long", message=f"Replay at most {MAX_HISTORY} earlier messages."
        )
    for role, text in history:
        if role not in (MessageRole.USER, MessageRole.ASSISTANT):
            raise InvalidStateError(code="message.history_role", message="Earlier messages are user or assistant.")
        if len(text) > MAX_TEXT:
            raise InvalidStateError(code="message.too_long", message=f"Messages are at most {MAX_TEXT:,} characters.")


def _history_store(session: ChatSession, history: Sequence[tuple[str, str]]) -> None:
    ChatMessage.objects.bulk_create(
        ChatMessage(session=session, role=role, content=text, metadata={"replayed": True}) for role, text in history
    )


def _context_check(context: Any) -> None:
    if not isinstance(context, Mapping):
        raise InvalidStateError(code="message.context_invalid", message="The context must be a JSON object.")
    try:
        size = len(json.dumps(context, ensure_ascii=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidStateError(code="message.context_invalid", message="The context must be JSON.") from exc
    if size > MAX_CONTEXT_BYTES:
        raise InvalidStateError(
            code="message.context_too_large", message=f"The context is too large ({MAX_CONTEXT_BYTES} bytes max)."
        )


def _context_store(session: ChatSession, context: Mapping[str, Any]) -> None:
    """Set ``remote_context`` in the session state in the database (a JSON merge: a turn's own state writes are not
    overwritten by a stale copy) and on ``session``."""
    value = dict(context)
    merged = CombinedExpression(F("state"), "||", Value({CONTEXT_KEY: value}, output_field=JSONField()))
    ChatSession.objects.filter(pk=session.pk).update(state=merged)
    session.state = {**session.state, CONTEXT_KEY: value}


def _consent_answer(*, session: ChatSession, message: ChatMessage) -> None:
    """The participant's message while consent is pending: their confirmation text gives consent (and sends the
    seed), anything else is answered with the consent prompt."""
    config = bot_config(chatbot=session.chatbot, version=session.version)
    assert config.consent is not None
    if message.content.lower() == config.consent.confirmation_text.strip().lower():
        services.session_consent_give(session=session)
        return
    prompt = f"{config.consent.consent_text}\n\nReply **{config.consent.confirmation_text}** to agree and continue."
    reply = ChatMessage.objects.create(
        session=session, role=MessageRole.SYSTEM, content=prompt, reply_to=message, metadata={"consent": True}
    )
    transaction.on_commit(lambda: delivery.deliver(reply=reply))

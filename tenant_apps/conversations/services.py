"""Sessions, inbound messages and turns: every channel goes through these (ARCHITECTURE §4).

The path of one turn:
1. ``message_receive`` persists the participant's message (idempotent on the platform's message id) and, once that
   commits, enqueues ``turn_process_task`` on the ``chat`` queue.
2. ``turn_process`` (in the worker) claims the message with one conditional UPDATE, runs the pipeline outside any
   transaction, then writes the reply, the trace, the new state and the histories in one transaction. The reply
   is one-to-one with the message, so a redelivered task can never add a second reply.
3. After commit the reply is handed to the platform's sender (``delivery.deliver``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from shared_apps.core.exceptions import InvalidStateError, PermissionDeniedError, RetryableProviderError
from shared_apps.core.prepared import PreparedQuery, insert, update, write_together
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.chatbots.selectors import BotConfig, bot_config
from tenant_apps.conversations import delivery, pricing
from tenant_apps.conversations.enums import MessageRole, Platform, SessionStatus, TraceStatus, TurnStatus
from tenant_apps.conversations.history import DbHistoryStore
from tenant_apps.conversations.models import (
    ChatMessage,
    ChatSession,
    MessageComment,
    MessageTag,
    Participant,
    ParticipantData,
    Tag,
    Trace,
)
from tenant_apps.pipelines import services as pipeline_services
from tenant_apps.pipelines.engine.context import Attachment, ParticipantInfo, RunContext
from tenant_apps.pipelines.engine.result import RunResult

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side and I can't answer right now. Please try again in a moment."
STALE_CLAIM = timedelta(minutes=5)  # a turn claimed longer ago than this was lost with its worker: run it again
REQUEUE_PENDING_AFTER = timedelta(minutes=1)  # a turn still pending this long after arriving lost its enqueue
# A turn that failed on one of these (after the LLM layer's own retries) is run again later by the task, unless a
# node with an outside effect already ran (running it again would repeat the email or the HTTP call).
RETRYABLE_CODES = frozenset({"llm.rate_limited", "llm.timeout", "llm.unavailable"})
SIDE_EFFECT_NODES = frozenset({"send_email", "http_request"})


# ---------------------------------------------------------------------------------------------------- participants


def participant_get_or_create(*, platform: str, identifier: str, name: str = "", user: Any = None) -> Participant:
    identifier = identifier.strip()
    participant, created = Participant.objects.get_or_create(
        platform=platform, identifier=identifier, defaults={"name": name[:255], "user": user}
    )
    if not created and ((name and participant.name != name) or (user is not None and participant.user_id is None)):
        participant.name = name[:255] or participant.name
        participant.user = participant.user or user
        participant.save(update_fields=["name", "user"])
    return participant


def participant_for_member(*, user: Any) -> Participant:
    """The participant a team member is when chatting in the app."""
    return participant_get_or_create(platform=Platform.WEB, identifier=user.email, name=user.display_name, user=user)


def participant_allowed(*, config: BotConfig, participant: Participant) -> bool:
    """Empty allowlist = anyone. Team members chatting in the app are always allowed."""
    if not config.participant_allowlist or participant.user_id is not None:
        return True
    return participant.identifier.lower() in {entry.lower() for entry in config.participant_allowlist}


# -------------------------------------------------------------------------------------------------------- sessions


@transaction.atomic
def session_start(
    *,
    chatbot: Chatbot,
    version: ChatbotVersion | None,
    participant: Participant,
    platform: str,
    started_by: Any = None,
) -> ChatSession:
    """Open a session on ``version`` (None = the working copy). Sends the seed message unless consent is pending."""
    if chatbot.is_archived:
        raise InvalidStateError(code="session.chatbot_archived", message="This chatbot is archived.")
    config = bot_config(chatbot=chatbot, version=version)
    if not participant_allowed(config=config, participant=participant):
        raise PermissionDeniedError(code="session.not_allowed", message="You are not on this chatbot's list.")
    session = ChatSession.objects.create(
        chatbot=chatbot,
        version=version,
        participant=participant,
        platform=platform,
        status=SessionStatus.PENDING_CONSENT if config.consent else SessionStatus.ACTIVE,
        started_by=started_by,
    )
    if config.consent is None:
        _send_seed(session=session, config=config)
    logger.info("session.started", extra={"session": str(session.external_id), "platform": platform})
    return session


def _send_seed(*, session: ChatSession, config: BotConfig) -> None:
    if config.seed_message.strip():
        _enqueue_turn(
            ChatMessage.objects.create(
                session=session,
                role=MessageRole.USER,
                content=config.seed_message,
                hidden=True,
                turn_status=TurnStatus.PENDING,
                metadata={"seed": True},
            )
        )


@transaction.atomic
def session_consent_give(*, session: ChatSession) -> ChatSession:
    session = (
        ChatSession.objects.select_for_update(of=("self",)).select_related("chatbot", "version").get(pk=session.pk)
    )
    if session.status != SessionStatus.PENDING_CONSENT:
        return session
    session.status = SessionStatus.ACTIVE
    session.consent_given_at = timezone.now()
    session.save(update_fields=["status", "consent_given_at"])
    _send_seed(session=session, config=bot_config(chatbot=session.chatbot, version=session.version))
    return session


@transaction.atomic
def session_end(*, session: ChatSession) -> ChatSession:
    if session.status != SessionStatus.ENDED:
        session.status = SessionStatus.ENDED
        session.ended_at = timezone.now()
        session.save(update_fields=["status", "ended_at"])
        logger.info("session.ended", extra={"session": str(session.external_id)})
    return session


def editor_session_get_or_start(*, chatbot: Chatbot, external_id: Any, user: Any) -> ChatSession:
    """The pipeline editor's test conversation on the working copy: the one named (if it is still open and is a
    working-copy web session of this chatbot), else a new one for this member.

    The builder is testing the pipeline, not the consent flow: a new test session gives consent at once.
    """
    if external_id is not None:
        session = (
            ChatSession.objects.select_related("chatbot")
            .filter(
                external_id=external_id,
                chatbot=chatbot,
                version__isnull=True,
                platform=Platform.WEB,
                status=SessionStatus.ACTIVE,
            )
            .first()
        )
        if session is not None:
            return session
    session = session_start(
        chatbot=chatbot,
        version=None,
        participant=participant_for_member(user=user),
        platform=Platform.WEB,
        started_by=user,
    )
    if session.status == SessionStatus.PENDING_CONSENT:
        session = session_consent_give(session=session)
    return session


# -------------------------------------------------------------------------------------------------------- messages


def message_receive(
    *,
    session: ChatSession,
    content: str,
    external_id: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
) -> ChatMessage:
    """Persist an inbound message and enqueue its turn. A redelivery (same ``external_id``) returns the first one.

    While consent is pending, the consent prompt is answered instead of running the pipeline; the participant's
    confirmation text gives consent.
    """
    content = content.strip()
    if session.is_ended:
        raise InvalidStateError(code="session.ended", message="This conversation has ended. Start a new one.")
    if not content and not attachments:
        raise InvalidStateError(code="message.empty", message="Write a message first.")
    if len(content) > 20_000:
        raise InvalidStateError(code="message.too_long", message="That message is too long (20,000 characters max).")
    consent_pending = session.status == SessionStatus.PENDING_CONSENT
    # A plain message is one INSERT committed on its own (no BEGIN/COMMIT round trips); inside a caller's
    # transaction a savepoint keeps that transaction usable when the insert hits the redelivery constraint. The
    # session's last_activity_at moves when the turn stores the reply.
    needs_atomic = consent_pending or connection.in_atomic_block
    guard = transaction.atomic() if needs_atomic else contextlib.nullcontext()
    try:
        with guard:
            if consent_pending:
                return _consent_reply(session=session, content=content, external_id=external_id)
            message = ChatMessage(
                session=session,
                role=MessageRole.USER,
                content=content,
                external_id=external_id,
                attachments=list(attachments),
                turn_status=TurnStatus.PENDING,
            )
            write_together(insert(message))
    except IntegrityError:
        existing = ChatMessage.objects.filter(session=session, external_id=external_id).first()
        if existing is None:
            raise
        return existing
    _enqueue_turn(message)
    return message


def _consent_reply(*, session: ChatSession, content: str, external_id: str | None) -> ChatMessage:
    config = bot_config(chatbot=session.chatbot, version=session.version)
    assert config.consent is not None
    message = ChatMessage.objects.create(
        session=session, role=MessageRole.USER, content=content, external_id=external_id
    )
    if content.strip().lower() == config.consent.confirmation_text.strip().lower():
        session_consent_give(session=session)
    else:
        prompt = f"{config.consent.consent_text}\n\nReply **{config.consent.confirmation_text}** to agree and continue."
        reply = ChatMessage.objects.create(
            session=session, role=MessageRole.SYSTEM, content=prompt, reply_to=message, metadata={"consent": True}
        )
        transaction.on_commit(lambda: delivery.deliver(reply=reply))
    return message


def _enqueue_turn(message: ChatMessage) -> None:
    message_id = message.pk
    transaction.on_commit(lambda: _tasks().turn_process_task.delay(message_id=message_id))


# ------------------------------------------------------------------------------------------------------------ turns


def turn_process(*, message_id: int, final_attempt: bool = True) -> ChatMessage | None:
    """Answer one participant message: run the pipeline and store reply + trace + state. Idempotent.

    When the pipeline failed on a passing provider problem and ``final_attempt`` is False, nothing is stored: the
    claim is released and ``RetryableProviderError`` asks the task to try again later. The last attempt stores
    the apology and the error trace, so the participant always hears back.
    """
    if not _claim(message_id):
        return ChatMessage.objects.filter(reply_to_id=message_id).first()

    message = _TURN_MESSAGE.first(message_id=message_id)
    if message is None:
        raise ChatMessage.DoesNotExist(message_id)
    session = message.session
    config = bot_config(chatbot=session.chatbot, version=session.version)
    data_id: int | None = message.participant_data_id  # type: ignore[attr-defined]
    history = DbHistoryStore(session=session, before_message_id=message.pk)
    context = RunContext(
        input_text=message.content,
        attachments=[Attachment(**_attachment_fields(a)) for a in message.attachments],
        participant_data=message.participant_data or {},  # type: ignore[attr-defined]
        session_state=session.state,
        participant=ParticipantInfo(
            identifier=session.participant.identifier, name=session.participant.name, platform=session.platform
        ),
        history=history,
    )
    started = time.perf_counter()
    result = _run_pipeline(config=config, context=context)
    if not final_attempt and _worth_retrying(result):
        ChatMessage.objects.filter(pk=message_id).update(turn_status=TurnStatus.PENDING, turn_started_at=None)
        assert result.error is not None
        raise RetryableProviderError(code="turn.retry_later", message=result.error.message)
    try:
        reply = _turn_store(
            message=message,
            session=session,
            config=config,
            result=result,
            history=history,
            data_id=data_id,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
    except IntegrityError:
        # Another delivery of this task answered first; its reply is the one.
        return ChatMessage.objects.filter(reply_to_id=message_id).first()
    transaction.on_commit(lambda: delivery.deliver(reply=reply))  # runs now: we are outside a transaction
    return reply


# The claim: a pending turn, or one whose worker was lost (claimed longer than STALE_CLAIM ago). Fixed SQL: the
# ORM rebuilt this statement on every turn for more CPU than PostgreSQL spent running it (ADR 0040).
_CLAIM_SQL = f"""
    UPDATE {ChatMessage._meta.db_table} SET turn_status = %s, turn_started_at = %s
    WHERE id = %s AND role = %s AND (turn_status = %s OR (turn_status = %s AND turn_started_at < %s))"""  # noqa: S608


def _claim(message_id: int) -> bool:
    """Mark the turn as being worked on, unless another delivery of it is (or was) already at it."""
    now = timezone.now()
    params: list[Any] = [TurnStatus.PROCESSING, now, message_id, MessageRole.USER]
    params += [TurnStatus.PENDING, TurnStatus.PROCESSING, now - STALE_CLAIM]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, params)
        return cursor.rowcount == 1


def _turn_message_query(message_id: int) -> QuerySet[ChatMessage]:
    data = ParticipantData.objects.filter(
        participant_id=OuterRef("session__participant_id"), chatbot_id=OuterRef("session__chatbot_id")
    )
    return (
        ChatMessage.objects.select_related(
            "session__participant", "session__chatbot__pipeline", "session__version__pipeline"
        )
        .annotate(
            participant_data_id=Subquery(data.values("id")[:1]), participant_data=Subquery(data.values("data")[:1])
        )
        .filter(pk=message_id)[:1]
    )


# The message, its session, participant, chatbot, pipeline and the participant's data row: one query, compiled once.
_TURN_MESSAGE = PreparedQuery(_turn_message_query, message_id=-8_675_309)


def turns_requeue_stuck(*, limit: int = 500) -> int:
    """Enqueue again the active team's turns that nobody is working on: still pending a minute after they
    arrived (the enqueue was lost, e.g. the broker was down) or claimed longer ago than ``STALE_CLAIM`` (the
    worker died and the message was not redelivered). A turn that is in fact queued just runs once: the claim
    in ``turn_process`` lets one delivery through. Returns how many were enqueued."""
    now = timezone.now()
    stuck = (
        ChatMessage.objects.filter(role=MessageRole.USER, reply__isnull=True)
        .filter(
            Q(turn_status=TurnStatus.PENDING, created_at__lt=now - REQUEUE_PENDING_AFTER)
            | Q(turn_status=TurnStatus.PROCESSING, turn_started_at__lt=now - STALE_CLAIM)
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(stuck)
    for message_id in ids:
        _tasks().turn_process_task.delay(message_id=message_id)
    if ids:
        logger.warning("turns.requeued", extra={"count": len(ids)})
    return len(ids)


def _tasks() -> Any:
    from tenant_apps.conversations import tasks

    return tasks


def _worth_retrying(result: RunResult) -> bool:
    if result.ok or result.error is None or result.error.code not in RETRYABLE_CODES:
        return False
    return not any(trace.node_type in SIDE_EFFECT_NODES for trace in result.trace)


def _attachment_fields(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: raw.get(key, "") for key in ("name", "content_type", "url")} | {"size": int(raw.get("size") or 0)}


def _run_pipeline(*, config: BotConfig, context: RunContext) -> RunResult:
    return pipeline_services.pipeline_run(pipeline=config.pipeline, context=context)


def _turn_store(
    *,
    message: ChatMessage,
    session: ChatSession,
    config: BotConfig,
    result: RunResult,
    history: DbHistoryStore,
    data_id: int | None,
    duration_ms: float,
) -> ChatMessage:
    """Reply, trace, the message's turn status and the session's activity: one statement (all or nothing; the
    reply's unique ``reply_to`` makes a second delivery's statement fail whole). State, history and tags, when
    the turn changed any, are written with it in one transaction."""
    ok = result.ok
    reply = ChatMessage(
        session=session,
        role=MessageRole.ASSISTANT,
        content=result.output if ok else APOLOGY,
        reply_to=message,
        metadata={"error": True} if not ok else {},
    )
    usage = result.total_usage
    trace = Trace(
        session=session,
        message=message,
        status=TraceStatus.SUCCESS if ok else TraceStatus.ERROR,
        duration_ms=round(duration_ms, 2),
        node_path=result.node_path,
        nodes=result.trace_dicts(),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cost=sum((pricing.cost_of(u) for u in result.usage), Decimal(0)),
        error=""
        if ok
        else f"{result.error.label or result.error.node_id}: {result.error.message}"
        if result.error
        else "",
        error_node_id=result.error.node_id if result.error else "",
        version_number=config.version_number,
        state_changes={
            "participant_data": [c.as_dict() for c in result.participant_data_diff],
            "session_state": [c.as_dict() for c in result.session_state_diff],
        },
    )
    session_fields: dict[str, Any] = {"last_activity_at": timezone.now()}
    if ok:
        if result.session_state_diff:
            session_fields["state"] = result.session_state
        if result.end_session:
            session_fields.update(status=SessionStatus.ENDED, ended_at=timezone.now())
    more = ok and bool(result.participant_data_diff or result.message_tags or history.has_writes)
    # Inside a caller's transaction a savepoint keeps it usable when a redelivery's statement fails.
    with transaction.atomic() if more or connection.in_atomic_block else contextlib.nullcontext():
        write_together(
            insert(reply),
            insert(trace),
            update(ChatMessage, message.pk, turn_status=TurnStatus.DONE if ok else TurnStatus.FAILED),
            update(ChatSession, session.pk, **session_fields),
        )
        if more:
            if result.participant_data_diff:
                if data_id is None:
                    ParticipantData.objects.create(
                        participant_id=session.participant_id,
                        chatbot_id=config.chatbot_id,
                        data=result.participant_data,
                    )
                else:
                    ParticipantData.objects.filter(pk=data_id).update(data=result.participant_data)
            history.flush()
            if result.message_tags:
                _tag(reply, result.message_tags, user=None)
    return reply


# ------------------------------------------------------------------------------------------- review: tags, comments


def _tag(message: ChatMessage, names: Sequence[str], *, user: Any) -> list[Tag]:
    tags = []
    for name in {n.strip()[:60] for n in names if n.strip()}:
        tag, _ = Tag.objects.get_or_create(name=name)
        MessageTag.objects.get_or_create(message=message, tag=tag, defaults={"created_by": user})
        tags.append(tag)
    return tags


@transaction.atomic
def message_tag_add(*, message: ChatMessage, name: str, user: Any) -> Tag:
    name = name.strip()
    if not name:
        raise InvalidStateError(code="tag.empty", message="Type a tag.")
    if len(name) > 60:
        raise InvalidStateError(code="tag.too_long", message="Tags are at most 60 characters.")
    return _tag(message, [name], user=user)[0]


@transaction.atomic
def message_tag_remove(*, message: ChatMessage, tag: Tag) -> None:
    MessageTag.objects.filter(message=message, tag=tag).delete()


@transaction.atomic
def message_comment_add(*, message: ChatMessage, text: str, user: Any) -> MessageComment:
    text = text.strip()
    if not text:
        raise InvalidStateError(code="comment.empty", message="Write a comment.")
    return MessageComment.objects.create(message=message, user=user, text=text[:5000])

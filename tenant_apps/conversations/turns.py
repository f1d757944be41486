"""The turn: answer one participant message (run by ``turn_process_task`` on the ``chat`` queue).

``turn_process`` claims the message with one conditional UPDATE, runs the pipeline outside any transaction, then
stores the reply, the trace, the message's turn status and the session's activity as one statement
(``turn_sql.turn_write``); state, histories and tags join that statement in a transaction only when the turn
changed them. The reply is one-to-one with the message, so a redelivered task can never add a second reply. After
the write the reply is handed to its channel (``delivery.deliver``). ADR 0003; the hot path's cost: ADR 0040.

In the gevent chat worker the turn holds a pooled database connection only for its statements: the pipeline's
ports hand it back before every model, HTTP or sandbox call (``pipelines.adapters``), and the turn hands it back
after its store (ADR 0090).

Nothing here enqueues a task (the task imports this module; ``ingress`` and ``services`` enqueue).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InternalError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from shared_apps.billing.enforcement import TurnAllowance, turn_allowance, turn_period
from shared_apps.billing.enums import Refusal
from shared_apps.billing.metering import UsageCounters, usage_writes
from shared_apps.core import strict_json
from shared_apps.core.db import connection, connection_release
from shared_apps.core.exceptions import RetryableProviderError
from tenant_apps.chatbots.selectors import BotConfig, bot_config
from tenant_apps.conversations import delivery, turn_deadline, turn_leases, turn_slots, turn_sql
from tenant_apps.conversations.enums import MessageRole, SessionStatus, TraceStatus, TurnStatus
from tenant_apps.conversations.history import DbHistoryStore
from tenant_apps.conversations.models import ChatMessage, ChatSession, ParticipantData, Trace
from tenant_apps.conversations.tags import tags_add
from tenant_apps.conversations.turn_effects import TurnEffectLog
from tenant_apps.conversations.turn_stream import TurnPublisher
from tenant_apps.pipelines import services as pipeline_services
from tenant_apps.pipelines.adapters import run_context
from tenant_apps.pipelines.engine.context import Attachment, ParticipantInfo, RunContext
from tenant_apps.pipelines.engine.limits import RunTimeLimitError
from tenant_apps.pipelines.engine.result import NodeFailure, RunResult
from tenant_apps.providers.llm import pricing

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side and I can't answer right now. Please try again in a moment."
ABANDONED = "The turn stopped its worker each time it ran (a crash or the hard time limit); it is not run again."
REQUEUE_PENDING_AFTER = timedelta(minutes=1)  # a turn still pending this long after arriving lost its enqueue
# A turn that failed on one of these (after the LLM layer's own retries) is run again later by the task; its email
# and HTTP nodes do not repeat (their effects are recorded per turn, ``turn_effects``, ADR 0066).
RETRYABLE_CODES = frozenset({"llm.rate_limited", "llm.timeout", "llm.unavailable"})


def turn_process(*, message_id: int, final_attempt: bool = True) -> ChatMessage | None:
    """Answer one participant message: run the pipeline and store reply + trace + state. Idempotent.

    When the pipeline failed on a passing provider problem and ``final_attempt`` is False, nothing is stored: the
    claim is released and ``RetryableProviderError`` asks the task to try again later. The last attempt stores
    the apology and the error trace, so the participant always hears back.
    """
    now = timezone.now()
    claimed = turn_sql.turn_claim(message_id, now=now, stale_before=now - turn_leases.stale_before())
    if not claimed:
        return ChatMessage.objects.filter(reply_to_id=message_id).first()
    schema = connection.schema_name
    turn_leases.lease_hold(schema, message_id)  # renewed while this runs (ADR 0065)
    finished = False
    try:
        reply = _turn_answer(
            message_id, final_attempt=final_attempt, taken_over=claimed == TurnStatus.PROCESSING, schema=schema
        )
        finished = True
        return reply
    except RetryableProviderError:
        finished = True  # handed back: the task tries again later
        raise
    finally:
        turn_leases.lease_end(schema, message_id, finished=finished)  # a crash lets the lease lapse: swept again


def _turn_answer(message_id: int, *, final_attempt: bool, taken_over: bool, schema: str) -> ChatMessage | None:
    publisher = TurnPublisher(schema=schema, message_id=message_id)
    publisher.start()
    team_id = connection.tenant.pk
    period = turn_period(team_id=team_id)  # from the team's cached billing snapshot: no query
    message = turn_sql.turn_message(message_id, team_id=team_id, period_start=period)
    if message is None:
        raise ChatMessage.DoesNotExist(message_id)
    session = message.session
    config = bot_config(chatbot=session.chatbot, version=session.version)
    allowance = turn_allowance(team_id=team_id, chatbot_id=session.chatbot_id, usage=UsageCounters.of(message))
    if not allowance.allowed:  # a plan limit or spend cap: the owner's message, no model call (ADR 0120)
        reply = _refusal_store(message=message, session=session, config=config, allowance=allowance)
        transaction.on_commit(lambda: _announce(reply, publisher))
        connection_release()
        return reply
    data_id: int | None = message.participant_data_id  # type: ignore[attr-defined]
    history = DbHistoryStore(session=session, before_message_id=message.pk)
    context = run_context(
        input_text=message.content,
        attachments=[Attachment(**_attachment_fields(a)) for a in message.attachments],
        participant_data=message.participant_data or {},  # type: ignore[attr-defined]
        session_state=session.state,
        participant=ParticipantInfo(
            identifier=session.participant.identifier, name=session.participant.name, platform=session.platform
        ),
        history=history,
        reply_stream=publisher,
        on_wait=publisher.waiting,
        model_override=(allowance.model.provider_id, allowance.model.model) if allowance.model else None,
    )
    started = time.perf_counter()
    context = replace(context, effects=TurnEffectLog(schema=schema, message_id=message_id))
    if taken_over and turn_leases.reclaim_count(schema, message_id) > settings.CHAT_TURN_MAX_RECLAIMS:
        # Its worker stopped every time it ran it (a crash, the hard time limit): end it instead (ADR 0066).
        result = _failed_run(context, code="turn.abandoned", message=ABANDONED)
    else:
        result = _run_pipeline(config=config, context=context)
    if not final_attempt and _worth_retrying(result):
        turn_sql.turn_release(message_id)
        publisher.reset()
        publisher.status("waiting", "The model provider is having trouble; trying again shortly.")
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
            cancelled=publisher.cancelled,
            billing=_Billing(team_id=team_id, period_start=period, note=allowance.reason),
        )
    except IntegrityError as exc:
        # Another delivery of this task answered first (its reply is the one), or the data broke a constraint.
        answered = ChatMessage.objects.filter(reply_to_id=message_id).first()
        if answered is not None:
            return answered
        stored = _turn_store_failed(message=message, session=session, config=config, result=result, exc=exc)
        if stored is None:
            return ChatMessage.objects.filter(reply_to_id=message_id).first()
        reply = stored
    except DatabaseError as exc:
        if isinstance(exc, OperationalError | InternalError):
            raise  # passing (the connection, a restart): the lease lapses and the turn runs again
        # PostgreSQL refused the result itself: running the turn again would only fail again (a poison turn).
        stored = _turn_store_failed(message=message, session=session, config=config, result=result, exc=exc)
        if stored is None:
            return ChatMessage.objects.filter(reply_to_id=message_id).first()
        reply = stored
    transaction.on_commit(lambda: _announce(reply, publisher))  # runs now: we are outside a transaction
    connection_release()  # the turn's statements are done (ADR 0090)
    return reply


def turn_process_in_slot(*, message_id: int, final_attempt: bool = True) -> ChatMessage | None:
    """``turn_process`` inside one of the team's in-flight slots (fair share between teams, ADR 0090 §8). Raises
    ``turn_slots.TeamAtCapacityError`` when the team is at its cap: the task runs the turn again a little later."""
    with turn_slots.team_slot(message_id):
        return turn_process(message_id=message_id, final_attempt=final_attempt)


def turns_requeue_stuck(*, enqueue: Callable[[int], object], limit: int = 500) -> int:
    """Enqueue again (``enqueue(message_id)``) the active team's turns that nobody is working on: still pending a
    minute after they arrived (the enqueue was lost, e.g. the broker was down) or whose claim's lease lapsed (the
    worker died and neither the broker nor the chat workers' lease sweep ran it again: the backstop, ADR 0065). A
    turn that is in fact queued just runs once: the claim in ``turn_process`` lets one delivery through. Returns how
    many were enqueued."""
    now = timezone.now()
    stuck = (
        ChatMessage.objects.filter(role=MessageRole.USER, reply__isnull=True)
        .filter(
            Q(turn_status=TurnStatus.PENDING, created_at__lt=now - REQUEUE_PENDING_AFTER)
            | Q(turn_status=TurnStatus.PROCESSING, turn_started_at__lt=now - turn_leases.stale_before())
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids = list(stuck)
    for message_id in ids:
        enqueue(message_id)
    if ids:
        logger.warning("turns.requeued", extra={"count": len(ids)})
    return len(ids)


def _announce(reply: ChatMessage, publisher: TurnPublisher) -> None:
    """The committed reply: ``done`` (with the stored text) to streaming clients, then the reply to its channel."""
    publisher.done(reply_id=reply.pk, ok=not reply.metadata.get("error"), text=reply.content)
    delivery.deliver(reply=reply)


def _worth_retrying(result: RunResult) -> bool:
    return not result.ok and result.error is not None and result.error.code in RETRYABLE_CODES


def _attachment_fields(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: raw.get(key, "") for key in ("name", "content_type", "url")} | {"size": int(raw.get("size") or 0)}


def _run_pipeline(*, config: BotConfig, context: RunContext) -> RunResult:
    """The pipeline, within the turn's time limit (``CHAT_TURN_SOFT_LIMIT``, ADR 0065): over it, the node it stopped
    fails (or the run, when it was between nodes), so the turn stores the apology and an error trace."""
    seconds = turn_deadline.turn_time_limit()
    try:
        with turn_deadline.turn_deadline(seconds) as deadline:
            return pipeline_services.pipeline_run(
                pipeline=config.pipeline, context=replace(context, deadline=deadline, time_limit=seconds)
            )
    except RunTimeLimitError as exc:
        if not connection.in_atomic_block and connection.connection is not None and not connection.is_usable():
            connection.close()  # interrupted mid-statement: the store starts on a fresh connection
        return _failed_run(context, code=exc.code, message=exc.message)


def _failed_run(context: RunContext, *, code: str, message: str) -> RunResult:
    """A run that ended before (or outside) any node: no output, no state change, the reason as its error."""
    return RunResult(
        status="error",
        output="",
        error=NodeFailure(node_id="", node_type="", label="Turn", code=code, message=message),
        trace=[],
        participant_data=dict(context.participant_data),
        session_state=dict(context.session_state),
        temp_state={},
        participant_data_diff=[],
        session_state_diff=[],
        end_session=False,
        message_tags=[],
        usage=[],
        duration_ms=0.0,
    )


def _turn_store_failed(
    *, message: ChatMessage, session: ChatSession, config: BotConfig, result: RunResult, exc: DatabaseError
) -> ChatMessage | None:
    """PostgreSQL refused the turn's result (a poison turn): store the apology and an error trace instead, once, and
    mark the turn failed so no sweep runs it again (ADR 0066). None when not even that could be stored (the turn is
    then only marked failed) or another delivery stored first."""
    logger.error("turn.store_failed", extra={"message_id": message.pk}, exc_info=exc)
    reason = strict_json.clean_text(str(exc).strip().splitlines()[0] if str(exc).strip() else "")[:300]
    trace = Trace(
        session=session,
        message=message,
        status=TraceStatus.ERROR,
        duration_ms=round(result.duration_ms, 2),
        node_path=result.node_path,
        nodes=[],
        input_tokens=result.total_usage.input_tokens,
        output_tokens=result.total_usage.output_tokens,
        cached_tokens=result.total_usage.cached_tokens,
        error=f"Turn: its result could not be stored ({type(exc).__name__}: {reason}); it is not tried again.",
        error_node_id="",
        version_number=config.version_number,
        state_changes={},
    )
    try:
        with turn_sql.transaction_if(False):
            return _reply_without_run(
                message=message, content=APOLOGY, metadata={"error": True}, trace=trace, status=TurnStatus.FAILED
            )
    except IntegrityError:
        return None
    except DatabaseError as again:
        if isinstance(again, OperationalError | InternalError):
            raise
        logger.error("turn.failure_store_failed", extra={"message_id": message.pk}, exc_info=again)
        turn_sql.turn_fail(message.pk)
        return None


def _reply_without_run(
    *, message: ChatMessage, content: str, metadata: dict[str, Any], trace: Trace, status: str
) -> ChatMessage:
    """A reply and its trace where no pipeline result is stored (a refusal, a poison turn): one statement, which
    raises ``IntegrityError`` when another delivery answered first."""
    session = message.session
    reply = ChatMessage(
        session=session, role=MessageRole.ASSISTANT, content=content, reply_to=message, metadata=metadata
    )
    turn_sql.turn_write(
        reply=reply,
        trace=trace,
        message_id=message.pk,
        turn_status=status,
        session_id=session.pk,
        session={"last_activity_at": timezone.now()},
    )
    return reply


@dataclass(frozen=True)
class _Billing:
    """Where the turn's usage goes: the team, its billing period, and why the turn's model was switched (if)."""

    team_id: int
    period_start: datetime
    note: str = ""


def _refusal_store(
    *, message: ChatMessage, session: ChatSession, config: BotConfig, allowance: TurnAllowance
) -> ChatMessage:
    """A turn the team's plan or spend cap refused: the owner's limit message as the reply and the reason on the
    trace, in one statement; no pipeline ran, so no usage."""
    trace = Trace(
        session=session,
        message=message,
        status=TraceStatus.ERROR,
        error=f"{allowance.reason}: {Refusal(allowance.reason).label}",
        version_number=config.version_number,
    )
    try:
        return _reply_without_run(
            message=message,
            content=allowance.message,
            metadata={"billing": allowance.reason},
            trace=trace,
            status=TurnStatus.DONE,
        )
    except IntegrityError:  # another delivery answered first
        return ChatMessage.objects.get(reply_to_id=message.pk)


def _turn_store(
    *,
    message: ChatMessage,
    session: ChatSession,
    config: BotConfig,
    result: RunResult,
    history: DbHistoryStore,
    data_id: int | None,
    duration_ms: float,
    billing: _Billing,
    cancelled: bool = False,
) -> ChatMessage:
    """Reply, trace, the message's turn status, the session's activity and the team's usage: one statement (all
    or nothing). State, history and tags, when the turn changed any, are written with it in one transaction."""
    ok = result.ok
    metadata: dict[str, Any] = {"error": True} if not ok else {"cancelled": True} if cancelled else {}
    if billing.note:
        metadata["billing"] = billing.note  # a spend cap switched the turn to the owner's cheaper model
    reply = ChatMessage(
        session=session,
        role=MessageRole.ASSISTANT,
        content=result.output if ok else APOLOGY,
        reply_to=message,
        metadata=metadata,
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
        cost=sum(
            (pricing.cost_of(provider_id=u.provider_id, model=u.model, usage=u.usage) for u in result.usage), Decimal(0)
        ),
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
    with turn_sql.transaction_if(more):
        turn_sql.turn_write(
            reply=reply,
            trace=trace,
            message_id=message.pk,
            turn_status=TurnStatus.DONE if ok else TurnStatus.FAILED,
            session_id=session.pk,
            session=session_fields,
            # An AI message is a turn that succeeded; a failed turn's tokens still cost (ADR 0120).
            usage=usage_writes(
                team_id=billing.team_id,
                chatbot_id=config.chatbot_id,
                period_start=billing.period_start,
                at=session_fields["last_activity_at"],
                ai_messages=1 if ok else 0,
                cost=trace.cost,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
            ),
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
                tags_add(message=reply, names=result.message_tags, user=None)
    return reply

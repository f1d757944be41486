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
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from shared_apps.billing.enforcement import TurnAllowance, turn_allowance, turn_period
from shared_apps.billing.enums import Refusal
from shared_apps.billing.metering import UsageCounters, usage_writes
from shared_apps.core.db import connection, connection_release
from shared_apps.core.exceptions import RetryableProviderError
from tenant_apps.chatbots.selectors import BotConfig, bot_config
from tenant_apps.conversations import delivery, turn_slots, turn_sql
from tenant_apps.conversations.enums import MessageRole, SessionStatus, TraceStatus, TurnStatus
from tenant_apps.conversations.history import DbHistoryStore
from tenant_apps.conversations.models import ChatMessage, ChatSession, ParticipantData, Trace
from tenant_apps.conversations.tags import tags_add
from tenant_apps.conversations.turn_stream import TurnPublisher
from tenant_apps.pipelines import services as pipeline_services
from tenant_apps.pipelines.adapters import run_context
from tenant_apps.pipelines.engine.context import Attachment, ParticipantInfo, RunContext
from tenant_apps.pipelines.engine.result import RunResult
from tenant_apps.providers.llm import pricing

logger = logging.getLogger(__name__)

APOLOGY = "Sorry, something went wrong on our side and I can't answer right now. Please try again in a moment."
STALE_CLAIM = timedelta(minutes=5)  # a turn claimed longer ago than this was lost with its worker: run it again
REQUEUE_PENDING_AFTER = timedelta(minutes=1)  # a turn still pending this long after arriving lost its enqueue
# A turn that failed on one of these (after the LLM layer's own retries) is run again later by the task, unless a
# node with an outside effect already ran (running it again would repeat the email or the HTTP call).
RETRYABLE_CODES = frozenset({"llm.rate_limited", "llm.timeout", "llm.unavailable"})
SIDE_EFFECT_NODES = frozenset({"send_email", "http_request"})


def turn_process(*, message_id: int, final_attempt: bool = True) -> ChatMessage | None:
    """Answer one participant message: run the pipeline and store reply + trace + state. Idempotent.

    When the pipeline failed on a passing provider problem and ``final_attempt`` is False, nothing is stored: the
    claim is released and ``RetryableProviderError`` asks the task to try again later. The last attempt stores
    the apology and the error trace, so the participant always hears back.
    """
    now = timezone.now()
    if not turn_sql.turn_claim(message_id, now=now, stale_before=now - STALE_CLAIM):
        return ChatMessage.objects.filter(reply_to_id=message_id).first()
    publisher = TurnPublisher(schema=connection.schema_name, message_id=message_id)
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
    except IntegrityError:
        # Another delivery of this task answered first; its reply is the one.
        return ChatMessage.objects.filter(reply_to_id=message_id).first()
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
    minute after they arrived (the enqueue was lost, e.g. the broker was down) or claimed longer ago than
    ``STALE_CLAIM`` (the worker died and the message was not redelivered). A turn that is in fact queued just runs
    once: the claim in ``turn_process`` lets one delivery through. Returns how many were enqueued."""
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
        enqueue(message_id)
    if ids:
        logger.warning("turns.requeued", extra={"count": len(ids)})
    return len(ids)


def _announce(reply: ChatMessage, publisher: TurnPublisher) -> None:
    """The committed reply: ``done`` (with the stored text) to streaming clients, then the reply to its channel."""
    publisher.done(reply_id=reply.pk, ok=not reply.metadata.get("error"), text=reply.content)
    delivery.deliver(reply=reply)


def _worth_retrying(result: RunResult) -> bool:
    if result.ok or result.error is None or result.error.code not in RETRYABLE_CODES:
        return False
    return not any(trace.node_type in SIDE_EFFECT_NODES for trace in result.trace)


def _attachment_fields(raw: dict[str, Any]) -> dict[str, Any]:
    return {key: raw.get(key, "") for key in ("name", "content_type", "url")} | {"size": int(raw.get("size") or 0)}


def _run_pipeline(*, config: BotConfig, context: RunContext) -> RunResult:
    return pipeline_services.pipeline_run(pipeline=config.pipeline, context=context)


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
    reply = ChatMessage(
        session=session,
        role=MessageRole.ASSISTANT,
        content=allowance.message,
        reply_to=message,
        metadata={"billing": allowance.reason},
    )
    trace = Trace(
        session=session,
        message=message,
        status=TraceStatus.ERROR,
        error=f"{allowance.reason}: {Refusal(allowance.reason).label}",
        version_number=config.version_number,
    )
    try:
        turn_sql.turn_write(
            reply=reply,
            trace=trace,
            message_id=message.pk,
            turn_status=TurnStatus.DONE,
            session_id=session.pk,
            session={"last_activity_at": timezone.now()},
        )
    except IntegrityError:  # another delivery answered first
        return ChatMessage.objects.get(reply_to_id=message.pk)
    return reply


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

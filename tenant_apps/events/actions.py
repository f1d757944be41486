"""What a trigger does when it fires: its parameters (checked when a builder saves it) and running it.

- ``log``: only the event log entry.
- ``end_conversation``: end the session (reason "bot" for an event trigger, "timeout" for a timeout trigger).
- ``send_message_to_bot``: a hidden message to the bot through the one ingress service; the normal turn answers
  and its reply goes to the participant on their channel.
- ``start_pipeline``: run another pipeline on the participant's last message and send its output as the bot's
  message (its state changes are not kept: it informs, it does not steer the conversation).
- ``schedule_message``: a scheduled message for the participant, after a delay, once or repeating.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tenant_apps.conversations import hooks, ingress, services
from tenant_apps.conversations.enums import MessageRole
from tenant_apps.conversations.history import DbHistoryStore
from tenant_apps.conversations.models import ChatMessage, ChatSession
from tenant_apps.events import clock, outbound, scheduling
from tenant_apps.events.enums import ActionType, IntervalUnit, Origin, TriggerKind
from tenant_apps.events.exceptions import InvalidStateError
from tenant_apps.events.triggers import FrozenTrigger
from tenant_apps.pipelines import services as pipeline_services
from tenant_apps.pipelines.adapters import run_context
from tenant_apps.pipelines.engine.context import ParticipantInfo
from tenant_apps.pipelines.models import Pipeline


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _NoParams(_Strict):
    pass


class _MessageParams(_Strict):
    message: str = Field(min_length=1, max_length=2000)


class _PipelineParams(_Strict):
    pipeline_id: int = Field(gt=0)


class _ScheduleParams(_Strict):
    message: str = Field(min_length=1, max_length=2000)
    delay_seconds: int = Field(ge=0, le=366 * 86400)
    interval: int | None = Field(default=None, ge=1, le=1000)
    unit: IntervalUnit | None = None
    max_runs: int | None = Field(default=None, ge=1, le=1000)


PARAMS: dict[str, type[_Strict]] = {
    ActionType.LOG: _NoParams,
    ActionType.END_CONVERSATION: _NoParams,
    ActionType.SEND_MESSAGE_TO_BOT: _MessageParams,
    ActionType.START_PIPELINE: _PipelineParams,
    ActionType.SCHEDULE_MESSAGE: _ScheduleParams,
}


def params_clean(*, action: str, params: Any) -> dict[str, Any]:
    """``params`` checked for ``action``; raises ``InvalidStateError`` ("events.invalid_params", with the field
    errors in ``extra["fields"]``)."""
    model = PARAMS.get(action)
    if model is None:
        raise InvalidStateError(code="events.invalid_action", message="Choose an action.")
    try:
        cleaned = model.model_validate(params if isinstance(params, dict) else {})
    except ValidationError as exc:
        fields = {".".join(str(p) for p in e["loc"]) or "params": e["msg"] for e in exc.errors()}
        raise InvalidStateError(
            code="events.invalid_params", message="Check the action's settings.", extra={"fields": fields}
        ) from exc
    if isinstance(cleaned, _ScheduleParams) and (cleaned.interval is None) != (cleaned.unit is None):
        raise InvalidStateError(
            code="events.invalid_params",
            message="A repeating message needs both how often and the unit.",
            extra={"fields": {"interval": "Give both or neither.", "unit": "Give both or neither."}},
        )
    if (
        isinstance(cleaned, _PipelineParams)
        and not Pipeline.objects.filter(pk=cleaned.pipeline_id, is_frozen=False).exists()
    ):
        raise InvalidStateError(
            code="events.invalid_params",
            message="That pipeline does not exist.",
            extra={"fields": {"pipeline_id": "Choose a pipeline."}},
        )
    return cleaned.model_dump(mode="json", exclude_none=True)


def action_run(*, trigger: FrozenTrigger, session: ChatSession) -> str:
    """Do ``trigger``'s action for ``session``; returns what happened, for the log. Raises ``ApplicationError``
    subclasses when it could not (the caller logs a failure)."""
    params = trigger.params
    if trigger.action == ActionType.LOG:
        return "Logged."
    if trigger.action == ActionType.END_CONVERSATION:
        if session.is_ended:
            return "The conversation had already ended."
        reason = hooks.EndReason.TIMEOUT if trigger.kind == TriggerKind.TIMEOUT else hooks.EndReason.BOT
        services.session_end(session=session, reason=reason)
        return "Ended the conversation."
    if trigger.action == ActionType.SEND_MESSAGE_TO_BOT:
        return _message_to_bot(session=session, text=str(params.get("message", "")))
    if trigger.action == ActionType.START_PIPELINE:
        return _pipeline_start(session=session, pipeline_id=int(params.get("pipeline_id", 0)))
    if trigger.action == ActionType.SCHEDULE_MESSAGE:
        unit = params.get("unit")
        scheduled = scheduling.scheduled_message_create(
            chatbot=session.chatbot,
            participant=session.participant,
            text=str(params.get("message", "")),
            first_run_at=clock.now() + timedelta(seconds=int(params.get("delay_seconds", 0))),
            interval=params.get("interval"),
            unit=IntervalUnit(unit) if unit else None,
            max_runs=params.get("max_runs"),
            origin=Origin.TRIGGER,
        )
        return f"Scheduled a message for {scheduled.first_run_at:%Y-%m-%d %H:%M} UTC."
    raise InvalidStateError(code="events.invalid_action", message=f"Unknown action {trigger.action!r}.")


def _message_to_bot(*, session: ChatSession, text: str) -> str:
    inbound = ingress.Inbound(text=text, hidden=True)
    if not session.is_ended:
        received = ingress.message_receive(session=session, inbound=inbound)
    else:
        chatbot = session.chatbot
        if chatbot.published_version_id is None:
            raise InvalidStateError(code="events.no_published_version", message="The chatbot has no version.")
        participant = session.participant
        received = ingress.message_receive_for(
            chatbot=chatbot,
            participant=ingress.ParticipantRef(platform=participant.platform, identifier=participant.identifier),
            platform=session.platform,
            inbound=inbound,
            version=chatbot.published_version,
        )
    return f"Sent to the bot (message {received.message.pk}); its reply goes to the participant."


def _pipeline_start(*, session: ChatSession, pipeline_id: int) -> str:
    pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
    if pipeline is None:
        raise InvalidStateError(code="events.pipeline_missing", message="The pipeline no longer exists.")
    last = (
        ChatMessage.objects.filter(session=session, role=MessageRole.USER, hidden=False)
        .order_by("-created_at", "-id")
        .first()
    )
    context = run_context(
        input_text=last.content if last else "",
        session_state=session.state,
        participant=ParticipantInfo(
            identifier=session.participant.identifier, name=session.participant.name, platform=session.platform
        ),
        history=DbHistoryStore(session=session, before_message_id=2**62),
    )
    result = pipeline_services.pipeline_run(pipeline=pipeline, context=context)
    if not result.ok:
        message = result.error.message if result.error else "unknown error"
        raise InvalidStateError(code="events.pipeline_failed", message=f"The pipeline failed: {message}")
    if not result.output.strip():
        return f"Ran “{pipeline.name}” (no output to send)."
    outbound.bot_message_send(
        chatbot=session.chatbot, participant=session.participant, text=result.output, origin="trigger", session=session
    )
    return f"Ran “{pipeline.name}” and sent its output."

"""The function-calling loop: ask the model, run the tools it asks for, feed the results back, repeat."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.providers.llm.types import ChatModel, ChatParams, ChatResult, Message, ToolCall, ToolHandler, ToolSpec

logger = logging.getLogger(__name__)


def _run_tool(call: ToolCall, handlers: Mapping[str, ToolHandler]) -> str:
    """The text the model sees for one call. Expected failures are told to the model so it can correct itself;
    anything else propagates (a bug should fail the turn, not be hidden from us)."""
    handler = handlers.get(call.name)
    if handler is None:
        return f"Error: there is no tool named {call.name!r}."
    try:
        return handler(call)
    except ApplicationError as exc:
        return f"Error: {exc.message}"
    except (ValueError, KeyError, TypeError) as exc:
        return f"Error: the arguments were not valid ({type(exc).__name__}: {exc})."


def run_tool_loop(
    model: ChatModel,
    *,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    handlers: Mapping[str, ToolHandler],
    params: ChatParams | None = None,
    max_rounds: int = 5,
    transcript: list[Message] | None = None,
) -> ChatResult:
    """Chat until the model answers without asking for tools, for at most ``max_rounds`` model calls.

    Returns the last reply with usage summed over all rounds and latency summed over the model calls. If the
    model still asks for tools on the last round, that reply is returned as is (``finish_reason`` is
    ``"tool_calls"``, its ``tool_calls`` unanswered). When ``transcript`` is given, the assistant and tool messages
    of the loop are appended to it (to store them in the history).
    """
    history = list(messages)
    total_usage = None
    total_latency = 0.0
    result: ChatResult | None = None
    for _round in range(max(1, max_rounds)):
        result = model.chat(messages=history, tools=tools, params=params)
        total_usage = result.usage if total_usage is None else total_usage + result.usage
        total_latency += result.latency_ms
        if not result.tool_calls:
            break
        if _round == max_rounds - 1:
            logger.info("llm.tool_rounds_exhausted", extra={"model": model.model, "rounds": max_rounds})
            break
        produced = [Message(role="assistant", content=result.text, tool_calls=result.tool_calls)]
        produced += [
            Message(role="tool", content=_run_tool(call, handlers), tool_call_id=call.id, name=call.name)
            for call in result.tool_calls
        ]
        history.extend(produced)
        if transcript is not None:
            transcript.extend(produced)
    assert result is not None
    assert total_usage is not None
    if transcript is not None and not result.tool_calls:
        transcript.append(Message(role="assistant", content=result.text))
    return ChatResult(
        text=result.text,
        tool_calls=result.tool_calls,
        usage=total_usage,
        latency_ms=total_latency,
        model=result.model,
        finish_reason=result.finish_reason,
    )

"""Model calls made by nodes: a small tool loop and structured-output parsing.

Every call goes through the LLM layer's ``ChatModel`` contract, so provider differences, retries and typed errors
stay there. The loop is deliberately minimal (ADR 0030): it runs the model, executes the tool calls it asked for,
feeds the results back and stops at the first answer without tool calls or after ``max_rounds``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenant_apps.providers.llm.types import ChatModel, ChatParams, ChatResult, Message, ToolCall, ToolSpec, Usage

MAX_TOOL_ROUNDS = 5


@dataclass(slots=True)
class ToolLoopResult:
    result: ChatResult
    usage: Usage
    calls: int
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # for the trace: name, arguments, result


def chat_with_tools(
    model: ChatModel,
    *,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec] = (),
    handler: Callable[[ToolCall], str] | None = None,
    params: ChatParams | None = None,
    max_rounds: int = MAX_TOOL_ROUNDS,
) -> ToolLoopResult:
    conversation = list(messages)
    usage = Usage()
    trace: list[dict[str, Any]] = []
    for round_number in range(max_rounds + 1):
        offered = tools if (tools and handler is not None and round_number < max_rounds) else ()
        result = model.chat(messages=conversation, tools=offered, params=params)
        usage = usage + result.usage
        if not result.tool_calls or not offered or handler is None:
            return ToolLoopResult(result=result, usage=usage, calls=round_number + 1, tool_calls=trace)
        conversation.append(Message(role="assistant", content=result.text, tool_calls=result.tool_calls))
        for call in result.tool_calls:
            answer = handler(call)
            trace.append({"name": call.name, "arguments": dict(call.arguments), "result": answer})
            conversation.append(Message(role="tool", content=answer, tool_call_id=call.id, name=call.name))
    raise AssertionError("unreachable: the last round offers no tools")  # pragma: no cover


def parse_json_object(text: str) -> Mapping[str, Any] | None:
    """The JSON object in a structured-output answer, tolerating a Markdown code fence around it."""
    candidate = text.strip()
    if candidate.startswith("```"):
        candidate = candidate.strip("`")
        if candidate.lower().startswith("json"):
            candidate = candidate[4:]
    try:
        value = json.loads(candidate)
    except (json.JSONDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None

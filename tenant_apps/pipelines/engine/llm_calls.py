"""Model calls made by nodes: a small tool loop and structured-output parsing.

Every call goes through the LLM layer's ``ChatModel`` contract and its tool loop, so provider differences, retries
and typed errors stay there; this module adds what the trace needs (each tool call with its result, the number
of model calls) and guarantees a final text answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared_apps.core import strict_json
from tenant_apps.providers.llm.loop import run_tool_loop
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
    """One answer from the model, running the tools it asks for through the LLM layer's ``run_tool_loop``.

    If the model still asks for tools after ``max_rounds`` calls, one more call without tools forces an answer,
    so a node always ends with text.
    """
    if not tools or handler is None:
        result = model.chat(messages=messages, params=params)
        return ToolLoopResult(result=result, usage=result.usage, calls=1)
    trace: list[dict[str, Any]] = []

    def recording(call: ToolCall) -> str:
        answer = handler(call)
        trace.append({"name": call.name, "arguments": dict(call.arguments), "result": answer})
        return answer

    transcript: list[Message] = []
    result = run_tool_loop(
        model,
        messages=messages,
        tools=tools,
        handlers={spec.name: recording for spec in tools},
        params=params,
        max_rounds=max_rounds,
        transcript=transcript,
    )
    calls = sum(1 for message in transcript if message.role == "assistant") + (1 if result.tool_calls else 0)
    usage = result.usage
    if result.tool_calls:
        result = model.chat(messages=[*messages, *transcript], params=params)
        usage = usage + result.usage
        calls += 1
    return ToolLoopResult(result=result, usage=usage, calls=calls, tool_calls=trace)


def parse_json_object(text: str) -> Mapping[str, Any] | None:
    """The JSON object in a structured-output answer, tolerating a Markdown code fence around it. Strict: NaN,
    Infinity and deep nesting are not JSON we can store (ADR 0061), so such an answer is no answer."""
    candidate = text.strip()
    if candidate.startswith("```"):
        candidate = candidate.strip("`")
        if candidate.lower().startswith("json"):
            candidate = candidate[4:]
    try:
        value = strict_json.loads(candidate)
    except strict_json.StrictJsonError:
        return None
    return value if isinstance(value, dict) else None

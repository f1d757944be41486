"""Model calls made by nodes: a small tool loop and structured-output parsing.

Every call goes through the LLM layer's ``ChatModel`` contract and its tool loop, so provider differences, retries
and typed errors stay there; this module adds what the trace needs (each tool call with its result, the number
of model calls) and guarantees a final text answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared_apps.core import strict_json
from tenant_apps.pipelines.engine.context import ReplyCancelled, ReplyStream
from tenant_apps.providers.llm.loop import run_tool_loop
from tenant_apps.providers.llm.tokens import count_tokens
from tenant_apps.providers.llm.types import ChatModel, ChatParams, ChatResult, Message, ToolCall, ToolSpec, Usage

MAX_TOOL_ROUNDS = 5


@dataclass(slots=True)
class ToolLoopResult:
    result: ChatResult
    usage: Usage
    calls: int
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # for the trace: name, arguments, result
    cancelled: bool = False  # the participant stopped a streamed answer: ``result.text`` is what was streamed


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


def stream_reply(
    model: ChatModel, *, messages: Sequence[Message], sink: ReplyStream, params: ChatParams | None = None
) -> ToolLoopResult:
    """One answer streamed into ``sink`` as it arrives (ADR 0090): the same ``ChatResult`` as ``model.chat`` would
    give, from the LLM layer's stream. When the sink says the participant stopped the generation, the model call
    is ended (the SDK stream is closed, so the provider sees the disconnect) and the text so far is the answer,
    with its usage estimated by the offline tokenizer."""
    parts: list[str] = []
    result: ChatResult | None = None
    started = time.perf_counter()
    deltas = model.stream(messages=messages, params=params)
    try:
        for delta in deltas:
            if delta.result is not None:
                result = delta.result
            elif delta.text:
                parts.append(delta.text)
                sink.write(delta.text)
        sink.flush()
    except ReplyCancelled:
        text = "".join(parts)
        usage = Usage(input_tokens=count_tokens(messages, model=model.model), output_tokens=count_tokens(text))
        latency_ms = (time.perf_counter() - started) * 1000
        cancelled = ChatResult(
            text=text, tool_calls=(), usage=usage, latency_ms=latency_ms, model=model.model, finish_reason="cancelled"
        )
        return ToolLoopResult(result=cancelled, usage=usage, calls=1, cancelled=True)
    finally:
        close = getattr(deltas, "close", None)  # a generator: closing it closes the SDK's stream (ends the call)
        if close is not None:
            close()
    assert result is not None  # the LLM layer's stream always ends with the whole reply
    return ToolLoopResult(result=result, usage=result.usage, calls=1)


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

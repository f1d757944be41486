"""A scripted ``ChatModel`` test double: answers from a list, records every call. Not an LLM client.

Used to test pipeline nodes without the LLM layer (issue 4 brings the SDK clients and the loopback fake server).
Each scripted reply is a string (plain answer), a ``ChatResult`` (e.g. with tool calls), an exception instance
(raised), or a callable taking the call's messages and returning one of those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenant_apps.providers.llm.types import ChatParams, ChatResult, Message, StreamDelta, ToolCall, ToolSpec, Usage

Reply = str | ChatResult | Exception | Callable[[Sequence[Message]], Any]

USAGE = Usage(input_tokens=10, output_tokens=5)


@dataclass
class ScriptedCall:
    messages: list[Message]
    tools: list[ToolSpec]
    params: ChatParams | None

    @property
    def system(self) -> str:
        return next((m.content for m in self.messages if m.role == "system"), "")

    @property
    def last_user(self) -> str:
        return next((m.content for m in reversed(self.messages) if m.role == "user"), "")


@dataclass
class ScriptedChatModel:
    replies: list[Reply] = field(default_factory=list)
    default: str | None = None  # answer when the script is used up (None: fail the test loudly)
    model: str = "scripted-model"
    provider_type: str = "scripted"
    calls: list[ScriptedCall] = field(default_factory=list)

    def chat(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> ChatResult:
        self.calls.append(ScriptedCall(list(messages), list(tools), params))
        if self.replies:
            reply = self.replies.pop(0)
        elif self.default is not None:
            reply = self.default
        else:
            raise AssertionError(f"ScriptedChatModel: no reply scripted for call {len(self.calls)}")
        if callable(reply) and not isinstance(reply, Exception):
            reply = reply(messages)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, ChatResult):
            return reply
        return ChatResult(
            text=str(reply), tool_calls=(), usage=USAGE, latency_ms=0.0, model=self.model, finish_reason="stop"
        )

    def stream(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> Iterator[StreamDelta]:
        result = self.chat(messages=messages, tools=tools, params=params)
        yield StreamDelta(text=result.text)
        yield StreamDelta(result=result)


def tool_call_reply(*calls: tuple[str, Mapping[str, Any]], text: str = "") -> ChatResult:
    """A reply in which the model asks for tools."""
    tool_calls = tuple(
        ToolCall(id=f"call_{index}", name=name, arguments=dict(arguments))
        for index, (name, arguments) in enumerate(calls)
    )
    return ChatResult(
        text=text,
        tool_calls=tool_calls,
        usage=USAGE,
        latency_ms=0.0,
        model="scripted-model",
        finish_reason="tool_calls",
    )


class ModelDirectory:
    """A ``RunContext.models`` resolver over scripted models; records which (provider_id, model) was asked for."""

    def __init__(self, model: ScriptedChatModel | None = None, **by_name: ScriptedChatModel) -> None:
        self.model = model
        self.by_name = by_name
        self.requests: list[tuple[int, str]] = []

    def __call__(self, provider_id: int, model: str) -> ScriptedChatModel:
        self.requests.append((provider_id, model))
        found = self.by_name.get(model, self.model)
        if found is None:
            raise AssertionError(f"no scripted model for {model!r}")
        return found

"""The LLM layer's contract: what the rest of the code sends to a model and gets back.

Implemented over the official SDKs (``openai`` for OpenAI, Azure and every OpenAI-compatible endpoint;
``anthropic`` for Anthropic) in ``tenant_apps.providers.llm.clients``. Pipelines, evaluations and anything else
that talks to a model use only these types, ``ChatModel`` and the errors in ``errors.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: Mapping[str, Any]  # parsed JSON; {} when the model sent nothing or invalid JSON (see raw_arguments)
    raw_arguments: str = ""


@dataclass(frozen=True)
class Message:
    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()  # assistant messages that asked for tools
    tool_call_id: str | None = None  # tool messages: which call this answers
    name: str | None = None  # tool messages: the tool's name


@dataclass(frozen=True)
class ToolSpec:
    """A function the model may call. ``parameters`` is a JSON Schema object."""

    name: str
    description: str
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0  # input tokens served from the provider's prompt cache (subset of input_tokens)

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cached_tokens + other.cached_tokens,
        )


@dataclass(frozen=True)
class ChatParams:
    """Per-call model parameters; None means "the provider's default"."""

    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None
    json_schema: Mapping[str, Any] | None = None  # ask for structured output matching this schema


@dataclass(frozen=True)
class ChatResult:
    text: str
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    latency_ms: float
    model: str
    finish_reason: str  # "stop", "length", "tool_calls", ...


@dataclass(frozen=True)
class StreamDelta:
    """One streamed event: text as it arrives; the final event carries ``result`` (the whole reply)."""

    text: str = ""
    result: ChatResult | None = None


ToolHandler = Callable[[ToolCall], str]  # runs one tool call, returns the text the model sees


class ChatModel(Protocol):
    """One model at one provider, with credentials resolved. Raises ``errors.LlmError`` subclasses."""

    provider_type: str
    model: str

    def chat(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> ChatResult: ...

    def stream(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> Iterator[StreamDelta]: ...

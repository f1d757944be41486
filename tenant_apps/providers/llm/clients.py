"""``ChatModel`` over the official SDKs: ``openai`` (OpenAI, Azure, every OpenAI-compatible endpoint) and
``anthropic`` (ADR 0023).

Each class only translates: our ``Message``/``ToolSpec``/``ChatParams`` into the SDK's request, the SDK's reply
into ``ChatResult``, SDK exceptions into ``errors``. The SDK client is built (and cached) by ``factory``; these
objects are cheap and made per call site. The hot path is a dict build, one SDK call and a small parse.

Retries are ours, not the SDK's (clients are built with ``max_retries=0``): rate limits, timeouts and 5xx are
retried a bounded number of times with exponential backoff and jitter, honouring ``Retry-After`` up to
``max_retry_wait``; a longer requested wait raises at once so a Celery task can retry later instead of holding a
worker. A stream is only retried before its first event. Both SDKs' streams go through ``SdkChatModel._streamed``:
each class only reads its SDK's events into a ``StreamAssembly``.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared_apps.catalog.selectors import ModelTraits
from tenant_apps.providers.llm.errors import LlmError, LlmRetryableError
from tenant_apps.providers.llm.errors_map import SDK_ERRORS, map_sdk_error
from tenant_apps.providers.llm.tokens import count_tokens
from tenant_apps.providers.llm.types import (
    ChatParams,
    ChatResult,
    Message,
    StreamDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_PARAMS = ChatParams()
ANTHROPIC_DEFAULT_MAX_TOKENS = 4096
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0
FINISH_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def parse_arguments(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


class SdkChatModel:
    """Shared plumbing: identity, retries, error mapping. Subclasses implement ``chat`` and ``stream``."""

    label = "The model provider"

    def __init__(
        self,
        *,
        client: Any,
        model: str,
        provider_type: str,
        traits: ModelTraits | None = None,
        label: str | None = None,
        secrets: Sequence[str] = (),
        max_retries: int = 2,
        max_retry_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str, float], None] | None = None,
    ) -> None:
        self.client = client
        self.model = model
        self.provider_type = provider_type
        self.traits = traits or ModelTraits()
        self.label = label or self.label
        self._secrets = tuple(secrets)
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self.on_wait = on_wait  # told (error code, seconds) before each in-process retry wait: "waiting" status

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider_type}:{self.model}>"

    def _map(self, exc: Exception) -> Exception:
        return map_sdk_error(exc, provider=self.label, secrets=self._secrets)

    def _with_retries(self, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return call()
            except SDK_ERRORS as exc:
                error = self._map(exc)
                if not isinstance(error, LlmRetryableError) or attempt >= self.max_retries:
                    raise error from exc
                wait = error.extra.get("retry_after")
                if not isinstance(wait, int | float):
                    wait = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt) * (0.5 + random.random() / 2)  # noqa: S311
                if wait > self.max_retry_wait:
                    raise error from exc
                attempt += 1
                logger.info(
                    "llm.retrying",
                    extra={"provider": self.provider_type, "model": self.model, "code": error.code, "wait": wait},
                )
                if self.on_wait is not None:
                    self.on_wait(error.code, float(wait))
                self._sleep(float(wait))

    def _estimated_usage(self, messages: Sequence[Message], text: str) -> Usage:
        """For servers that report no usage (some local servers in streaming mode)."""
        return Usage(input_tokens=count_tokens(messages, model=self.model), output_tokens=count_tokens(text))

    def _streamed(
        self,
        events: Any,
        read: Callable[[Any, StreamAssembly], Iterator[str]],
        messages: Sequence[Message],
        started: float,
    ) -> Iterator[StreamDelta]:
        """The stream both SDKs share: each event goes to ``read``, which fills the assembly and yields the text it
        carries (passed on at once as ``StreamDelta(text=...)``); SDK errors are mapped, the stream is closed
        whatever happens, and the last delta carries the whole reply."""
        assembly = StreamAssembly(model=self.model, started=started)
        try:
            for event in events:
                for text in read(event, assembly):
                    assembly.text_parts.append(text)
                    yield StreamDelta(text=text)
        except SDK_ERRORS as exc:
            raise self._map(exc) from exc
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()
        yield StreamDelta(result=assembly.result(estimate=lambda text: self._estimated_usage(messages, text)))


@dataclass
class StreamAssembly:
    """What a stream adds up to as its events arrive: text, tool calls (by the SDK's index), usage, finish reason."""

    model: str
    started: float
    text_parts: list[str] = field(default_factory=list)
    calls: dict[int, dict[str, str]] = field(default_factory=dict)
    usage: Usage | None = None
    finish_reason: str = ""

    def tool_call(
        self, index: int, *, call_id: str | None = None, name: str | None = None, arguments: str = ""
    ) -> None:
        """Start or extend the tool call at ``index`` (ids and names arrive once, arguments in pieces)."""
        slot = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        slot["id"] = call_id or slot["id"]
        slot["name"] = name or slot["name"]
        slot["arguments"] += arguments

    def result(self, *, estimate: Callable[[str], Usage]) -> ChatResult:
        text = "".join(self.text_parts)
        tool_calls = tuple(
            ToolCall(
                id=c["id"], name=c["name"], arguments=parse_arguments(c["arguments"]), raw_arguments=c["arguments"]
            )
            for _, c in sorted(self.calls.items())
        )
        return ChatResult(
            text=text,
            tool_calls=tool_calls,
            usage=self.usage if self.usage is not None else estimate(text),
            latency_ms=(time.perf_counter() - self.started) * 1000,
            model=self.model,
            finish_reason=self.finish_reason or ("tool_calls" if tool_calls else "stop"),
        )


# ----------------------------------------------------------------------------------------------------------------
# OpenAI, Azure OpenAI and every OpenAI-compatible endpoint
# ----------------------------------------------------------------------------------------------------------------


def openai_messages(messages: Sequence[Message]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            out.append({"role": "tool", "tool_call_id": message.tool_call_id or "", "content": message.content})
        elif message.tool_calls:
            out.append(
                {
                    "role": "assistant",
                    "content": message.content or None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {
                                "name": call.name,
                                "arguments": call.raw_arguments or json.dumps(call.arguments),
                            },
                        }
                        for call in message.tool_calls
                    ],
                }
            )
        else:
            out.append({"role": message.role, "content": message.content})
    return out


def openai_tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
        }
        for t in tools
    ]


class OpenAIChatModel(SdkChatModel):
    label = "The OpenAI-compatible endpoint"

    def __init__(self, *, max_tokens_param: str = "max_tokens", stream_usage: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_tokens_param = max_tokens_param  # OpenAI and Azure want max_completion_tokens; others max_tokens
        self.stream_usage = stream_usage

    def request(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], params: ChatParams | None
    ) -> dict[str, Any]:
        params = params or DEFAULT_PARAMS
        kwargs: dict[str, Any] = {"model": self.model, "messages": openai_messages(messages)}
        if tools:
            kwargs["tools"] = openai_tools(tools)
        traits = self.traits
        if params.temperature is not None and traits.supports_temperature:
            kwargs["temperature"] = params.temperature
        if params.max_tokens is not None:
            kwargs[self.max_tokens_param] = params.max_tokens
        if params.reasoning_effort is not None and (traits.supports_reasoning_effort or not traits.known):
            kwargs["reasoning_effort"] = params.reasoning_effort
        if params.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": dict(params.json_schema)},
            }
        return kwargs

    def _post(self, body: dict[str, Any], *, stream: bool) -> Any:
        """``chat.completions.create`` without its request transform and its response models: the SDK walks the
        whole body against its TypedDicts (~1 ms per message of history here) to turn a dict we built as plain JSON
        into the same JSON, and builds a model tree of the reply we read five fields of. Same endpoint, same client
        (auth, retries off, timeouts, Azure deployment routing, status errors); a plain reply comes back as the
        decoded JSON, a stream as the SDK's ``Stream`` whose events ``_decoded_chunks`` reads as decoded JSON.
        tests/tenant_apps/providers/llm/test_clients.py checks that the bytes sent are identical to ``create()``'s."""
        from openai import Stream

        path = "/chat/completions"
        return self.client.post(path, body=body, cast_to=object, stream=stream, stream_cls=Stream[object])

    def chat(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> ChatResult:
        body = self.request(messages, tools, params)
        started = time.perf_counter()
        completion = self._with_retries(lambda: self._post(body, stream=False))
        latency_ms = (time.perf_counter() - started) * 1000
        choices = completion.get("choices") if isinstance(completion, dict) else None
        if not choices or not isinstance(choices[0], dict):
            raise LlmError(code="llm.empty_reply", message=f"{self.label} sent an empty reply.")
        choice = choices[0]
        reply = choice.get("message") or {}
        tool_calls = tuple(
            ToolCall(
                id=call.get("id") or "",
                name=function.get("name") or "",
                arguments=parse_arguments(function.get("arguments")),
                raw_arguments=str(function.get("arguments") or ""),
            )
            for call in reply.get("tool_calls") or ()
            if isinstance(function := call.get("function"), dict)
        )
        text = reply.get("content") or ""
        usage = completion.get("usage")
        if isinstance(usage, dict):
            details = usage.get("prompt_tokens_details") or {}
            result_usage = Usage(
                input_tokens=usage.get("prompt_tokens") or 0,
                output_tokens=usage.get("completion_tokens") or 0,
                cached_tokens=details.get("cached_tokens") or 0,
            )
        else:
            result_usage = self._estimated_usage(messages, text)
        return ChatResult(
            text=text,
            tool_calls=tool_calls,
            usage=result_usage,
            latency_ms=latency_ms,
            model=completion.get("model") or self.model,
            finish_reason=choice.get("finish_reason") or ("tool_calls" if tool_calls else "stop"),
        )

    def stream(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> Iterator[StreamDelta]:
        body = self.request(messages, tools, params)
        body["stream"] = True
        if self.stream_usage:
            body["stream_options"] = {"include_usage": True}
        started = time.perf_counter()
        chunks = self._with_retries(lambda: self._post(body, stream=True))
        yield from self._streamed(_decoded_chunks(chunks), self._read_chunk, messages, started)

    @staticmethod
    def _read_chunk(chunk: Any, assembly: StreamAssembly) -> Iterator[str]:
        """One decoded ``chat.completion.chunk`` (a dict, see ``_decoded_chunks``)."""
        if not isinstance(chunk, dict):
            return
        assembly.model = chunk.get("model") or assembly.model
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            details = usage.get("prompt_tokens_details") or {}
            assembly.usage = Usage(
                input_tokens=usage.get("prompt_tokens") or 0,
                output_tokens=usage.get("completion_tokens") or 0,
                cached_tokens=details.get("cached_tokens") or 0,
            )
        choices = chunk.get("choices")
        if not choices or not isinstance(choices[0], dict):
            return
        choice = choices[0]
        delta = choice.get("delta") or {}
        if delta.get("content"):
            yield delta["content"]
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            assembly.tool_call(
                call.get("index") or 0,
                call_id=call.get("id"),
                name=function.get("name"),
                arguments=function.get("arguments") or "",
            )
        if choice.get("finish_reason"):
            assembly.finish_reason = choice["finish_reason"]


def _decoded_chunks(stream: Any) -> Iterator[Any]:
    """The decoded JSON of each event of an OpenAI-compatible stream, read to the end of the body.

    The SDK's ``Stream`` stops reading at ``[DONE]`` and closes the response before the body's last bytes, so
    httpx drops the connection and every streamed call paid a new TCP (and TLS) handshake; it also built a model
    tree per chunk, of which we read a few fields (ADR 0040 §13, ADR 0090). Its event reader still maps timeouts
    and connection errors to the SDK's exceptions; an ``error`` event raises ``APIError`` as the SDK does."""
    from openai import APIError

    response = stream.response
    try:
        for sse in stream._iter_events():
            if sse.data.startswith("[DONE]"):
                continue  # read on to the end of the body: the connection goes back to the pool
            data = sse.json()
            if isinstance(data, dict) and data.get("error"):
                error = data["error"]
                message = error.get("message") if isinstance(error, dict) else None
                raise APIError(
                    message=message if isinstance(message, str) and message else "An error occurred during streaming",
                    request=response.request,
                    body=error,
                )
            yield data
    finally:
        response.close()


# ----------------------------------------------------------------------------------------------------------------
# Anthropic
# ----------------------------------------------------------------------------------------------------------------


def anthropic_messages(messages: Sequence[Message]) -> tuple[str, list[dict[str, Any]]]:
    """(system prompt, messages): system messages are joined into ``system``; tool results become user turns and
    consecutive turns of one role are merged, as the Messages API requires alternating roles."""
    system_parts: list[str] = []
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            if message.content:
                system_parts.append(message.content)
            continue
        blocks: list[dict[str, Any]]
        if message.role == "tool":
            role = "user"
            blocks = [{"type": "tool_result", "tool_use_id": message.tool_call_id or "", "content": message.content}]
        elif message.role == "assistant":
            role = "assistant"
            blocks = [{"type": "text", "text": message.content}] if message.content else []
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": dict(c.arguments)} for c in message.tool_calls
            ]
        else:
            role = "user"
            blocks = [{"type": "text", "text": message.content}]
        if not blocks:
            continue
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return "\n\n".join(system_parts), out


class AnthropicChatModel(SdkChatModel):
    label = "Anthropic"

    def request(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec], params: ChatParams | None
    ) -> dict[str, Any]:
        params = params or DEFAULT_PARAMS
        system, converted = anthropic_messages(messages)
        traits = self.traits
        max_tokens = params.max_tokens or min(traits.max_output_tokens or ANTHROPIC_DEFAULT_MAX_TOKENS, 4096)
        kwargs: dict[str, Any] = {"model": self.model, "messages": converted, "max_tokens": max_tokens}
        if system:
            kwargs["system"] = system
        if tools:
            kwargs["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)} for t in tools
            ]
        output_config: dict[str, Any] = {}
        if params.reasoning_effort is not None and (traits.supports_reasoning_effort or not traits.known):
            output_config["effort"] = params.reasoning_effort
        if params.json_schema is not None:
            output_config["format"] = {"type": "json_schema", "schema": dict(params.json_schema)}
        if output_config:
            kwargs["output_config"] = output_config
        if params.temperature is not None and traits.supports_temperature:
            kwargs["extra_body"] = {"temperature": params.temperature}
        return kwargs

    @staticmethod
    def _usage(usage: Any, output_tokens: int | None = None) -> Usage:
        cached = getattr(usage, "cache_read_input_tokens", None) or 0
        written = getattr(usage, "cache_creation_input_tokens", None) or 0
        return Usage(
            input_tokens=(usage.input_tokens or 0) + cached + written,
            output_tokens=output_tokens if output_tokens is not None else (usage.output_tokens or 0),
            cached_tokens=cached,
        )

    def chat(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> ChatResult:
        kwargs = self.request(messages, tools, params)
        create = self.client.messages.create
        started = time.perf_counter()
        reply = self._with_retries(lambda: create(**kwargs))
        latency_ms = (time.perf_counter() - started) * 1000
        text_parts: list[str] = []
        tool_calls: list[ToolCall] = []
        for block in reply.content:
            if block.type == "text":
                text_parts.append(block.text)
            elif block.type == "tool_use":
                arguments = block.input if isinstance(block.input, Mapping) else {}
                tool_calls.append(
                    ToolCall(
                        id=block.id, name=block.name, arguments=dict(arguments), raw_arguments=json.dumps(arguments)
                    )
                )
        return ChatResult(
            text="".join(text_parts),
            tool_calls=tuple(tool_calls),
            usage=self._usage(reply.usage),
            latency_ms=latency_ms,
            model=reply.model or self.model,
            finish_reason=FINISH_REASONS.get(reply.stop_reason or "", reply.stop_reason or "stop"),
        )

    def stream(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> Iterator[StreamDelta]:
        kwargs = self.request(messages, tools, params)
        kwargs["stream"] = True
        create = self.client.messages.create
        started = time.perf_counter()
        events = self._with_retries(lambda: create(**kwargs))
        start_usage: Any = None  # input side, from message_start; the output count comes with message_delta

        def read(event: Any, assembly: StreamAssembly) -> Iterator[str]:
            nonlocal start_usage
            kind = event.type
            if kind == "content_block_delta":
                delta = event.delta
                if delta.type == "text_delta":
                    yield delta.text
                elif delta.type == "input_json_delta" and event.index in assembly.calls:
                    assembly.tool_call(event.index, arguments=delta.partial_json)
            elif kind == "content_block_start":
                block = event.content_block
                if block.type == "tool_use":
                    assembly.tool_call(event.index, call_id=block.id, name=block.name)
            elif kind == "message_start":
                start_usage = event.message.usage
                assembly.model = event.message.model or assembly.model
                assembly.usage = self._usage(start_usage)
            elif kind == "message_delta":
                if event.delta.stop_reason:
                    assembly.finish_reason = FINISH_REASONS.get(event.delta.stop_reason, event.delta.stop_reason)
                if event.usage is not None and start_usage is not None:
                    assembly.usage = self._usage(start_usage, event.usage.output_tokens)

        yield from self._streamed(events, read, messages, started)

"""TEST TOOL: a loopback fake of the model providers' HTTP APIs, for tests and benchmarks. Never used in production.

It speaks, over real HTTP, the wire formats the official SDKs use:

* OpenAI chat completions: ``POST /v1/chat/completions`` (JSON and SSE streaming, tool calls, usage incl. cached
  tokens), ``GET /v1/models``; Azure's ``POST /openai/deployments/<name>/chat/completions`` and
  ``GET /openai/models``.
* Anthropic messages: ``POST /v1/messages`` (JSON and SSE events, tool_use blocks, usage), ``GET /v1/models``
  (when the request carries ``anthropic-version``).
* The messaging platforms' "who am I" calls used by "Test connection": Telegram ``/bot<token>/getMe``, Twilio
  ``/2010-04-01/Accounts/<sid>.json``, Slack ``/api/auth.test``, Meta Graph ``/v<N>/me``.

Scripting (in-process, through the ``fake_llm`` fixture, or over HTTP under ``/_fake/`` when run standalone):

    fake_llm.reply("Hello!")                              # next request gets this text
    fake_llm.tool_call("get_weather", {"city": "Paris"})  # next request asks for a tool
    fake_llm.error(429, "Slow down", headers={"Retry-After": "0"})
    fake_llm.reply("late", delay=2.0)                     # answer after 2 s (timeouts)
    fake_llm.api_key = "sk-test"                          # anything else gets a 401
    fake_llm.context_window = 50                          # longer prompts get the provider's context error
    fake_llm.requests                                     # what it received (method, path, headers, json)
    fake_llm.profile = Profile(first_token=0.5, tokens=40, seconds=1.0)  # a realistic model (see ``Profile``)
    fake_llm.disconnects                                  # streams the client closed before their end

With nothing queued it echoes: the reply is ``"Echo: <last user message>"``, deterministic for a given input.
Token usage is counted in words (input: every message; output: the reply) so tests can predict it.

It is an asyncio server (one thread in tests, the main thread standalone), so a thousand streams can be open at
once; delays and token pacing are ``asyncio.sleep``s, never a blocked thread.

Run it on its own: ``python -m tests.fakes.llm_server --port 8765 [--first-token 0.5 --tokens 40 --seconds 1]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

MODELS = ("fake-model", "fake-model-mini")


@dataclass
class Script:
    """One scripted answer, rendered in whichever wire format the request used."""

    text: str | None = None  # None = echo
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "arguments", "id"?}]
    status: int = 200
    message: str = ""  # error message
    code: str | None = None  # error code (OpenAI "code", Anthropic error "type")
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    usage: dict[str, int] | None = None  # {"input_tokens", "output_tokens", "cached_tokens"}
    finish_reason: str | None = None


@dataclass(frozen=True)
class Profile:
    """A model with latency: the first token after ``first_token`` seconds, then the rest of a ``tokens``-word echo
    spread evenly over ``seconds`` (tokens due within ``tick`` of each other go out in one write). A non-streamed
    answer arrives whole after ``first_token + seconds``. Scripted texts keep their words; echoes are padded."""

    first_token: float = 0.5
    tokens: int = 40
    seconds: float = 1.0
    tick: float = 0.0


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: Any


def _words(text: str) -> int:
    return len(text.split())


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif block.get("type") == "tool_result":
                    parts.append(_content_text(block.get("content")))
        return " ".join(parts)
    return ""


class FakeLlm:
    """State and behaviour of the fake; thread-safe. ``FakeLlmServer`` serves it over HTTP."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    # -- scripting -------------------------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self._queue: deque[Script] = deque()
            self.requests: list[Recorded] = []
            self.api_key: str | None = None
            self.context_window: int | None = None
            self.models: list[str] = list(MODELS)
            self.profile: Profile | None = None
            self.record = True  # keep every request (benchmarks switch it off)
            self.disconnects = 0  # streams whose client went away before the end (a cancelled generation)
            self.streams_completed = 0
            self.connections = 0  # TCP connections accepted (keep-alive reuse shows here)

    def push(self, script: Script) -> FakeLlm:
        with self._lock:
            self._queue.append(script)
        return self

    def reply(self, text: str, *, delay: float = 0.0, usage: dict[str, int] | None = None) -> FakeLlm:
        return self.push(Script(text=text, delay=delay, usage=usage))

    def tool_call(self, name: str, arguments: dict[str, Any], *, id: str | None = None, text: str = "") -> FakeLlm:
        return self.push(Script(text=text, tool_calls=[{"name": name, "arguments": arguments, "id": id}]))

    def tool_calls(self, calls: list[dict[str, Any]], *, text: str = "") -> FakeLlm:
        return self.push(Script(text=text, tool_calls=calls))

    def error(
        self,
        status: int,
        message: str = "",
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
    ) -> FakeLlm:
        return self.push(Script(status=status, message=message, code=code, headers=headers or {}, delay=delay))

    @property
    def last_request(self) -> Recorded:
        return self.requests[-1]

    def _next(self) -> Script:
        with self._lock:
            return self._queue.popleft() if self._queue else Script()

    # -- handling ----------------------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(raw_path)
        path = parts.path
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        if path.startswith("/_fake/"):
            return self._control(method, path, payload)
        if self.record:
            with self._lock:
                self.requests.append(Recorded(method, path, parse_qs(parts.query), headers, payload))
        anthropic = "anthropic-version" in headers
        if path.endswith("/messages") and method == "POST" and anthropic:
            return self._anthropic(headers, payload or {})
        if path.endswith("/chat/completions") and method == "POST":
            return self._openai(headers, payload or {})
        if path.endswith("/models") and method == "GET":
            return self._models(headers, anthropic)
        if "/bot" in path and path.endswith("/getMe"):
            return self._telegram(path)
        if path.startswith("/2010-04-01/Accounts/"):
            return self._twilio(path, headers)
        if path.endswith("/auth.test"):
            return self._slack(headers)
        if path.endswith("/me"):
            return self._meta(headers)
        return Response.json(404, {"error": {"message": f"No route {path}", "type": "not_found"}})

    def _control(self, method: str, path: str, payload: Any) -> Response:
        if path == "/_fake/reset":
            self.reset()
        elif path == "/_fake/script" and isinstance(payload, list):
            for item in payload:
                self.push(Script(**item))
        elif path == "/_fake/config" and isinstance(payload, dict):
            for key in ("api_key", "context_window", "models", "record"):
                if key in payload:
                    setattr(self, key, payload[key])
            if "profile" in payload:
                self.profile = Profile(**payload["profile"]) if payload["profile"] else None
        elif path == "/_fake/requests":
            return Response.json(200, [asdict(r) for r in self.requests])
        return Response.json(200, {"ok": True})

    # Credentials: OpenAI "Authorization: Bearer", Azure "api-key", Anthropic "x-api-key" (or Bearer).
    def _presented_key(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        return headers.get("api-key") or headers.get("x-api-key") or auth.removeprefix("Bearer ").strip()

    def _key_rejected(self, headers: dict[str, str]) -> str | None:
        presented = self._presented_key(headers)
        if self.api_key is not None and presented != self.api_key:
            return presented
        return None

    def _prompt(self, payload: dict[str, Any]) -> tuple[str, int]:
        """(last user text, input words) of a chat request in either format."""
        words = _words(_content_text(payload.get("system", "")))
        last_user = ""
        for message in payload.get("messages", []):
            text = _content_text(message.get("content"))
            words += _words(text)
            if message.get("role") == "user" and text and not _is_tool_result(message):
                last_user = text
        return last_user, words

    def _resolve(self, payload: dict[str, Any]) -> tuple[Script, str, int]:
        script = self._next()
        last_user, words = self._prompt(payload)
        text = script.text if script.text is not None else f"Echo: {last_user}"
        profile = self.profile
        if profile is not None and script.text is None and script.status == 200:
            padding = max(0, profile.tokens - _words(text))
            text += "".join(f" w{n}" for n in range(padding))
        return script, text, words

    def _delays(self, script: Script, pieces: int, *, stream: bool) -> tuple[float, float]:
        """(wait before the answer starts, wait between streamed pieces)."""
        profile = self.profile
        if profile is None or script.status != 200:
            return script.delay, 0.0
        if not stream:
            return script.delay + profile.first_token + profile.seconds, 0.0
        return script.delay + profile.first_token, profile.seconds / max(1, pieces - 1)

    def _pacer(self, gap: float) -> Iterator[float | None]:
        """Before each piece after the first: a pause, or None when the piece joins the previous write (tick)."""
        tick = self.profile.tick if self.profile is not None else 0.0
        owed = 0.0
        while True:
            owed += gap
            if owed > 0 and owed >= tick:
                yield owed
                owed = 0.0
            else:
                yield None

    # -- OpenAI --------------------------------------------------------------------------------------------------
    def _openai_error(self, status: int, message: str, code: str | None, headers: dict[str, str]) -> Response:
        kind = {401: "invalid_request_error", 429: "rate_limit_exceeded", 404: "invalid_request_error"}.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
        body = {"error": {"message": message or f"Error {status}", "type": kind, "param": None, "code": code}}
        return Response.json(status, body, headers)

    def _openai(self, headers: dict[str, str], payload: dict[str, Any]) -> Response:
        rejected = self._key_rejected(headers)
        if rejected is not None:
            return self._openai_error(401, f"Incorrect API key provided: {rejected}.", "invalid_api_key", {})
        script, text, words = self._resolve(payload)
        if script.status != 200:
            return self._openai_error(script.status, script.message, script.code, script.headers).after(script.delay)
        if self.context_window is not None and words > self.context_window:
            return self._openai_error(
                400,
                f"This model's maximum context length is {self.context_window} tokens. However, your messages "
                f"resulted in {words} tokens. Please reduce the length of the messages.",
                "context_length_exceeded",
                {},
            )
        model = payload.get("model") or MODELS[0]
        calls = [
            {
                "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": call["name"], "arguments": json.dumps(call.get("arguments", {}))},
            }
            for call in script.tool_calls
        ]
        usage_in = script.usage or {}
        usage = {
            "prompt_tokens": usage_in.get("input_tokens", words),
            "completion_tokens": usage_in.get("output_tokens", _words(text)),
            "prompt_tokens_details": {"cached_tokens": usage_in.get("cached_tokens", 0)},
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        finish = script.finish_reason or ("tool_calls" if calls else "stop")
        ident = f"chatcmpl-{uuid.uuid4().hex[:16]}"
        if not payload.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if calls:
                message["tool_calls"] = calls
            body = {
                "id": ident,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                "usage": usage,
            }
            return Response.json(200, body, script.headers).after(self._delays(script, 1, stream=False)[0])

        include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            return {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }

        pieces = _pieces(text)
        first_wait, gap = self._delays(script, len(pieces), stream=True)
        pacer = self._pacer(gap)

        def events() -> Iterator[bytes | float]:
            yield _sse(chunk({"role": "assistant", "content": ""}))
            for index, piece in enumerate(pieces):
                pause = next(pacer) if index else None
                if pause is not None:
                    yield pause
                yield _sse(chunk({"content": piece}))
            for index, call in enumerate(calls):
                start = {"index": index, "id": call["id"], "type": "function"}
                yield _sse(
                    chunk({"tool_calls": [{**start, "function": {"name": call["function"]["name"], "arguments": ""}}]})
                )
                arguments = call["function"]["arguments"]
                for half in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                    yield _sse(chunk({"tool_calls": [{"index": index, "function": {"arguments": half}}]}))
            yield _sse(chunk({}, finish))
            if include_usage:
                yield _sse({**chunk({}), "choices": [], "usage": usage})
            yield b"data: [DONE]\n\n"

        return Response.stream(events(), script.headers).after(first_wait)

    # -- Anthropic -----------------------------------------------------------------------------------------------
    def _anthropic_error(self, status: int, message: str, code: str | None, headers: dict[str, str]) -> Response:
        kind = code or {
            400: "invalid_request_error",
            401: "authentication_error",
            403: "permission_error",
            404: "not_found_error",
            429: "rate_limit_error",
            529: "overloaded_error",
        }.get(status, "api_error")
        body = {"type": "error", "error": {"type": kind, "message": message or f"Error {status}"}}
        return Response.json(status, body, headers)

    def _anthropic(self, headers: dict[str, str], payload: dict[str, Any]) -> Response:
        rejected = self._key_rejected(headers)
        if rejected is not None:
            return self._anthropic_error(401, f"invalid x-api-key: {rejected}", None, {})
        script, text, words = self._resolve(payload)
        if script.status != 200:
            return self._anthropic_error(script.status, script.message, script.code, script.headers).after(script.delay)
        if self.context_window is not None and words > self.context_window:
            return self._anthropic_error(
                400, f"prompt is too long: {words} tokens > {self.context_window} maximum", None, {}
            )
        model = payload.get("model") or MODELS[0]
        usage_in = script.usage or {}
        cached = usage_in.get("cached_tokens", 0)
        input_tokens = usage_in.get("input_tokens", words) - cached
        output_tokens = usage_in.get("output_tokens", _words(text))
        calls = [
            {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{uuid.uuid4().hex[:12]}",
                "name": call["name"],
                "input": call.get("arguments", {}),
            }
            for call in script.tool_calls
        ]
        stop = script.finish_reason or ("tool_use" if calls else "end_turn")
        ident = f"msg_{uuid.uuid4().hex[:16]}"
        usage = {"input_tokens": input_tokens, "output_tokens": output_tokens, "cache_read_input_tokens": cached}
        if not payload.get("stream"):
            content = ([{"type": "text", "text": text}] if text else []) + calls
            body = {
                "id": ident,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": usage,
            }
            return Response.json(200, body, script.headers).after(self._delays(script, 1, stream=False)[0])

        pieces = _pieces(text)
        first_wait, gap = self._delays(script, len(pieces), stream=True)
        pacer = self._pacer(gap)

        def events() -> Iterator[bytes | float]:
            start_usage = {**usage, "output_tokens": 1}
            message = {
                "id": ident,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": start_usage,
            }
            yield _event("message_start", {"type": "message_start", "message": message})
            index = 0
            if text:
                yield _event(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                )
                for number, piece in enumerate(pieces):
                    pause = next(pacer) if number else None
                    if pause is not None:
                        yield pause
                    delta = {"type": "text_delta", "text": piece}
                    yield _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
                index += 1
            for call in calls:
                block = {**call, "input": {}}
                yield _event(
                    "content_block_start", {"type": "content_block_start", "index": index, "content_block": block}
                )
                arguments = json.dumps(call["input"])
                for half in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                    delta = {"type": "input_json_delta", "partial_json": half}
                    yield _event("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
                yield _event("content_block_stop", {"type": "content_block_stop", "index": index})
                index += 1
            yield _event(
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": output_tokens},
                },
            )
            yield _event("message_stop", {"type": "message_stop"})

        return Response.stream(events(), script.headers).after(first_wait)

    # -- model lists ---------------------------------------------------------------------------------------------
    def _models(self, headers: dict[str, str], anthropic: bool) -> Response:
        rejected = self._key_rejected(headers)
        script = self._next()
        if rejected is not None or script.status != 200:
            status = 401 if rejected is not None else script.status
            message = f"Incorrect API key provided: {rejected}." if rejected is not None else script.message
            if anthropic:
                return self._anthropic_error(status, message, script.code, script.headers)
            return self._openai_error(status, message, script.code, script.headers)
        if anthropic:
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "2026-01-01T00:00:00Z"} for m in self.models
            ]
            body = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
            return Response.json(200, body)
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return Response.json(200, {"object": "list", "data": data})

    # -- messaging platforms -----------------------------------------------------------------------------------------
    def _telegram(self, path: str) -> Response:
        token = path.split("/bot", 1)[1].rsplit("/", 1)[0]
        script = self._next()
        if script.status != 200 or (self.api_key is not None and token != self.api_key):
            status = script.status if script.status != 200 else 401
            description = script.message or "Unauthorized"
            return Response.json(status, {"ok": False, "error_code": status, "description": description})
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        result = {"id": bot_id, "is_bot": True, "first_name": "Fake bot", "username": "fake_test_bot"}
        return Response.json(200, {"ok": True, "result": result})

    def _twilio(self, path: str, headers: dict[str, str]) -> Response:
        sid = path.rsplit("/", 1)[1].removesuffix(".json")
        auth = headers.get("authorization", "")
        user, _, password = base64.b64decode(auth.removeprefix("Basic ").encode() or b"Og==").decode().partition(":")
        script = self._next()
        if script.status != 200 or (self.api_key is not None and password != self.api_key) or user != sid:
            status = script.status if script.status != 200 else 401
            body = {
                "code": 20003,
                "message": script.message or "Authenticate",
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": status,
            }
            return Response.json(status, body)
        body = {"sid": sid, "friendly_name": "Fake Twilio account", "status": "active", "type": "Full"}
        return Response.json(200, body)

    def _slack(self, headers: dict[str, str]) -> Response:
        script = self._next()
        rejected = self._key_rejected(headers)
        if script.status != 200 or rejected is not None:
            return Response.json(200, {"ok": False, "error": script.message or "invalid_auth"})
        body = {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake workspace",
            "user": "fakebot",
            "team_id": "T1",
        }
        return Response.json(200, body)

    def _meta(self, headers: dict[str, str]) -> Response:
        script = self._next()
        rejected = self._key_rejected(headers)
        if script.status != 200 or rejected is not None:
            status = script.status if script.status != 200 else 401
            error = {"message": script.message or "Invalid OAuth access token.", "type": "OAuthException", "code": 190}
            return Response.json(status if status != 200 else 400, {"error": error})
        return Response.json(200, {"id": "1234567890", "name": "Fake WhatsApp business"})


def _is_tool_result(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


def _pieces(text: str) -> list[str]:
    """Split text into streamed pieces that join back exactly (word + following space)."""
    pieces, current = [], ""
    for char in text:
        current += char
        if char == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: Iterator[bytes | float] | None = None  # a float is a pause (seconds) between writes
    delay: float = 0.0  # before the status line

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
        return cls(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode())

    @classmethod
    def stream(cls, chunks: Iterator[bytes | float], headers: dict[str, str] | None = None) -> Response:
        return cls(
            200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", **(headers or {})}, chunks=chunks
        )

    def after(self, delay: float) -> Response:
        self.delay = delay
        return self


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}


class FakeLlmServer(FakeLlm):
    """``FakeLlm`` served over HTTP/1.1 (keep-alive, chunked streams) by asyncio on 127.0.0.1 (port 0 = any free
    port). ``start()`` runs it in a thread of its own; ``python -m tests.fakes.llm_server`` in the main thread."""

    def __init__(self, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self._sock.listen(4096)
        self._sock.setblocking(False)
        self.host, self.port = host, self._sock.getsockname()[1]
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> FakeLlmServer:
        self._thread = threading.Thread(target=self.serve_forever, name="fake-llm", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(10)

    def serve_forever(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._connection, sock=self._sock, limit=2**20)
        self._ready.set()
        async with server:
            await self._stopping.wait()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if ":" in line)
                }
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                response = self.handle(method, target, headers, body)
                if not await self._send(writer, response) or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _send(self, writer: asyncio.StreamWriter, response: Response) -> bool:
        """Write one response; False when the client went away (counted in ``disconnects`` for a stream)."""
        if response.delay:
            await asyncio.sleep(response.delay)
        head = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Status')}"]
        head += [f"{name}: {value}" for name, value in response.headers.items()]
        if response.chunks is None:
            head.append(f"Content-Length: {len(response.body)}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + response.body)
            try:
                await writer.drain()
            except ConnectionError:
                return False
            return True
        head.append("Transfer-Encoding: chunked")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        try:
            for item in response.chunks:
                if isinstance(item, float):
                    await writer.drain()
                    await asyncio.sleep(item)
                    if writer.is_closing():
                        raise ConnectionResetError
                    continue
                writer.write(f"{len(item):x}\r\n".encode() + item + b"\r\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            with self._lock:
                self.disconnects += 1
            return False
        with self._lock:
            self.streams_completed += 1
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description="TEST TOOL: loopback fake of the OpenAI/Anthropic/platform APIs.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--first-token", type=float, default=None, help="seconds to the first token (a profile)")
    parser.add_argument("--tokens", type=int, default=40, help="profile: words in an echoed reply")
    parser.add_argument("--seconds", type=float, default=1.0, help="profile: seconds over which they stream")
    parser.add_argument("--tick", type=float, default=0.0, help="profile: group tokens due within this")
    parser.add_argument("--no-record", action="store_true", help="keep no request log (long benchmark runs)")
    args = parser.parse_args()
    server = FakeLlmServer(port=args.port, host=args.host)
    if args.first_token is not None:
        server.profile = Profile(first_token=args.first_token, tokens=args.tokens, seconds=args.seconds, tick=args.tick)
    server.record = not args.no_record
    print(f"Fake LLM server (test tool) on {server.url}  -- OpenAI base URL {server.openai_base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()

"""The OpenAI-compatible endpoint (issue 14, ADR 0111): a chatbot answers ``POST .../chat/completions`` as a model
would, so any OpenAI client can talk to it.

* ``POST /api/openai/<chatbot_id>/chat/completions`` (the published version) and
  ``/api/openai/<chatbot_id>/v<n>/chat/completions`` (version ``n``), authenticated with a team API key
  (``Authorization: Bearer``); ``GET /api/openai/<chatbot_id>/models`` lists the chatbot.
* ``messages``: the last one is the user's new message; earlier ``user``/``assistant`` messages are replayed as the
  session's history (``system``/``developer`` messages are ignored: the chatbot has its own prompt). Every call is
  a new session (as Open Chat Studio does); ``user`` names the participant (default: the key).
* The message comes in through the one ingress service and the turn runs in the chat worker like any other.
  Plain calls wait for the reply (long poll on the session's channel); ``stream: true`` answers Server-Sent Events
  in OpenAI's chunk format, fed by the turn's token stream (ADR 0090 §4): tokens as the model produces them, the
  final text's remainder at ``done``, an optional ``usage`` chunk (``stream_options.include_usage``), then
  ``data: [DONE]``.
* Errors use OpenAI's shape ``{"error": {"message", "type", "param", "code"}}`` so clients raise their usual
  exceptions (401 bad key, 404 another team's or an unknown chatbot, 400 bad request).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import redis
from django.http import StreamingHttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from shared_apps.core.db import connection
from shared_apps.core.exceptions import ApplicationError, NotFoundError, RateLimitedError
from shared_apps.core.ratelimit import rate_limit_check, rate_limit_headers
from shared_apps.core.redis import get_redis
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.conversations import delivery, ingress, selectors, streams
from tenant_apps.conversations.enums import MessageRole, Platform
from tenant_apps.conversations.models import ChatMessage, ChatSession
from tenants.api import TeamApiView
from tenants.enums import Role

logger = logging.getLogger(__name__)

MAX_MESSAGES = 200
REPLY_TIMEOUT_SECONDS = 300.0  # beyond the turn's own time limit: a turn always ends before this
POLL_FALLBACK_SECONDS = 0.25  # when no long-poll slot is free, look again this often
HEARTBEAT_SECONDS = 15.0  # an SSE comment keeps proxies from closing a quiet stream


class OpenAIRequestError(ApplicationError):
    """code "openai.*": the request is not a chat completion we can answer (400)."""


def _error_body(message: str, *, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class OpenAIApiView(TeamApiView):
    """Team API, but errors in OpenAI's shape; throttled per key like the management API."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR  # chatting writes a session: full keys (editors) only, read-only keys are refused

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        ident = f"key:{getattr(request.auth, 'prefix', None) or getattr(request.user, 'pk', 'anon')}"
        self._rate = rate_limit_check(scope="api.key", ident=ident)
        if not self._rate.allowed:
            raise RateLimitedError(
                code="request.throttled",
                message="Too many requests for this API key. Wait and try again.",
                extra={"retry_after": self._rate.reset},
            )

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        rate = getattr(self, "_rate", None)
        if rate is not None:
            for name, value in rate_limit_headers(rate).items():
                response[name] = value
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ApplicationError):
            type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
            response = Response(_error_body(exc.message, type_=type_, code=exc.code), status=exc.status_code)
            if isinstance(exc, RateLimitedError):
                response["Retry-After"] = str(exc.extra.get("retry_after", 1))
            return response
        response = super().handle_exception(exc)
        body = response.data if isinstance(response.data, dict) else {}
        message = str(body.get("message") or body.get("detail") or "The request failed.")
        if isinstance(exc, drf_exceptions.ValidationError):
            message = "The request is not valid: " + json.dumps(body.get("extra", {}).get("fields", body))[:500]
        type_ = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}.get(
            response.status_code, "invalid_request_error"
        )
        response.data = _error_body(message, type_=type_, code=body.get("code"))
        return response


def _model_name(chatbot: Chatbot, version: ChatbotVersion | None) -> str:
    return f"chatbot-{chatbot.pk}" + (f"-v{version.number}" if version is not None else "")


class OpenAIModelsApi(OpenAIApiView):
    """``GET /api/openai/<chatbot_id>/models``: the chatbot as the one model (plus each version, pinned)."""

    def get(self, request: Request, chatbot_id: int) -> Response:
        chatbot = chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
        created = int(chatbot.created_at.timestamp())
        owner = request.tenant.slug  # type: ignore[attr-defined]
        models = [{"id": _model_name(chatbot, None), "object": "model", "created": created, "owned_by": owner}]
        models += [
            {
                "id": _model_name(chatbot, v),
                "object": "model",
                "created": int(v.created_at.timestamp()),
                "owned_by": owner,
            }
            for v in chatbot_selectors.version_list(chatbot=chatbot)[:100]
        ]
        return Response({"object": "list", "data": models})


def _text(content: Any, index: int) -> str:
    """A message's text: a string, or a list of ``{"type": "text", "text"}`` parts (joined with spaces)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str) for part in content
    ):
        return " ".join(part["text"] for part in content)
    raise OpenAIRequestError(
        code="openai.unsupported_content",
        message=f"messages[{index}].content must be a string or a list of text parts.",
        extra={"param": f"messages[{index}].content"},
    )


def parse_request(data: Any) -> tuple[str, list[tuple[str, str]], dict[str, Any]]:
    """(the new user message, the replayed history, options) from a chat completion request body."""
    if not isinstance(data, dict):
        raise OpenAIRequestError(code="openai.invalid_body", message="Send a JSON object.")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise OpenAIRequestError(code="openai.messages_required", message="messages must be a non-empty list.")
    if len(messages) > MAX_MESSAGES:
        raise OpenAIRequestError(code="openai.too_many_messages", message=f"Send at most {MAX_MESSAGES} messages.")
    turns: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("system", "developer", "user", "assistant"):
            raise OpenAIRequestError(
                code="openai.invalid_role",
                message=f"messages[{index}].role must be system, developer, user or assistant.",
            )
        text = _text(message.get("content"), index)
        if message["role"] in ("user", "assistant"):
            turns.append((MessageRole.USER if message["role"] == "user" else MessageRole.ASSISTANT, text))
    if not turns or turns[-1][0] != MessageRole.USER:
        raise OpenAIRequestError(code="openai.last_message_not_user", message="The last message must be the user's.")
    stream = data.get("stream", False)
    stream_options = data.get("stream_options") or {}
    user = data.get("user", "")
    if not isinstance(stream, bool) or not isinstance(stream_options, dict):
        raise OpenAIRequestError(code="openai.invalid_stream", message="stream is a boolean, stream_options an object.")
    if not isinstance(user, str) or len(user) > 255:
        raise OpenAIRequestError(code="openai.invalid_user", message="user is a string of at most 255 characters.")
    options = {"stream": stream, "include_usage": bool(stream_options.get("include_usage")), "user": user.strip()}
    return turns[-1][1], turns[:-1], options


class _MessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "developer", "user", "assistant"])
    content = serializers.JSONField(help_text="A string, or a list of {type: text, text} parts.")


class _StreamOptionsSerializer(serializers.Serializer):
    include_usage = serializers.BooleanField(required=False)


class ChatCompletionsApi(OpenAIApiView):
    """``POST /api/openai/<chatbot_id>[/v<n>]/chat/completions``."""

    class InputSerializer(serializers.Serializer):
        """For the schema only: the body is read by ``parse_request`` (OpenAI's own error wording)."""

        model = serializers.CharField(required=False, help_text="Ignored: the chatbot is the model.")
        messages = _MessageSerializer(many=True)
        stream = serializers.BooleanField(required=False)
        stream_options = _StreamOptionsSerializer(required=False)
        user = serializers.CharField(required=False, max_length=255)

    def post(self, request: Request, chatbot_id: int, number: int | None = None) -> Any:
        chatbot = chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
        if number is not None:
            version = chatbot_selectors.version_get(chatbot=chatbot, number=number)
        elif chatbot.published_version is not None:
            version = chatbot.published_version
        else:
            raise NotFoundError(code="chatbot.not_published", message="This chatbot has no published version yet.")
        text, history, options = parse_request(request.data)
        key_prefix = getattr(request.auth, "prefix", None) or f"user-{request.user.pk}"
        participant = ingress.ParticipantRef(platform=Platform.API, identifier=options["user"] or f"api:{key_prefix}")
        person = ingress.participant_resolve(participant)
        session, _started = ingress.session_open(
            chatbot=chatbot, participant=person, platform=Platform.API, version=version, resume=False
        )
        if options["stream"]:
            watch = _TokenWatch(schema=connection.schema_name)  # subscribe first: no token is published unseen
            received = ingress.message_receive(session=session, inbound=ingress.Inbound(text=text, history=history))
            watch.listen(received.message.pk)
            model = _model_name(chatbot, version if number is not None else None)
            response = StreamingHttpResponse(
                _sse(watch, session=session, message=received.message, model=model, usage=options["include_usage"]),
                content_type="text/event-stream",
            )
            response["Cache-Control"] = "no-cache"
            response["X-Accel-Buffering"] = "no"
            return response
        received = ingress.message_receive(session=session, inbound=ingress.Inbound(text=text, history=history))
        reply = _wait_for_reply(session, received.message)
        model = _model_name(chatbot, version if number is not None else None)
        return Response(_completion(session, received.message, reply, model=model))


def _wait_for_reply(session: ChatSession, message: ChatMessage) -> ChatMessage:
    deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
    while (remaining := deadline - time.monotonic()) > 0:
        reply, waited = delivery.wait_for_reply(
            session=session,
            lookup=lambda: selectors.reply_for(session=session, message_id=message.pk),
            timeout=remaining,
        )
        if reply is not None:
            return reply
        if not waited:
            time.sleep(POLL_FALLBACK_SECONDS)
    raise ApplicationError(code="openai.timeout", message="The chatbot did not answer in time.")


def _usage(message: ChatMessage) -> dict[str, int]:
    trace = selectors.trace_for_message(session=message.session, message_id=message.pk)
    prompt, completion = (trace.input_tokens, trace.output_tokens) if trace else (0, 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _completion(session: ChatSession, message: ChatMessage, reply: ChatMessage, *, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{session.external_id.hex}",
        "object": "chat.completion",
        "created": int(reply.created_at.timestamp()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": reply.content},
                "logprobs": None,
            }
        ],
        "usage": _usage(message),
    }


# ------------------------------------------------------------------------------------------------------ streaming


class _TokenWatch:
    """One Redis subscription to the turn's channel (ADR 0090 §4), opened before the message is stored."""

    def __init__(self, *, schema: str) -> None:
        self.schema = schema
        self.pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
        self.message_id = 0

    def listen(self, message_id: int) -> None:
        self.message_id = message_id
        self.pubsub.subscribe(streams.channel(self.schema, message_id))

    def events(self, timeout: float) -> Iterator[dict[str, Any] | None]:
        """Events as they come; None every ``timeout`` seconds of silence (time for a heartbeat or a look)."""
        while True:
            raw = self.pubsub.get_message(timeout=timeout)
            if raw is None:
                yield None
            elif raw.get("type") == "message":
                try:
                    yield streams.decode(raw["data"])
                except ValueError:
                    continue

    def text_so_far(self) -> str:
        value = get_redis().get(streams.text_key(self.schema, self.message_id))
        return value.decode() if isinstance(value, bytes) else str(value or "")

    def done(self) -> dict[str, Any] | None:
        value = get_redis().get(streams.done_key(self.schema, self.message_id))
        return streams.decode(value) if value else None

    def close(self) -> None:
        with contextlib.suppress(redis.RedisError):
            self.pubsub.close()


def _chunk(base: dict[str, Any], delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
    return b"data: " + json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def _sse(watch: _TokenWatch, *, session: ChatSession, message: ChatMessage, model: str, usage: bool) -> Iterator[bytes]:
    """OpenAI chunks: the role, each new piece of text, the final text's remainder, finish, usage, ``[DONE]``."""
    base = {
        "id": f"chatcmpl-{session.external_id.hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    if usage:
        base["usage"] = None
    sent = ""
    try:
        yield _chunk(base, {"role": "assistant", "content": ""})
        deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
        final: dict[str, Any] | None = None
        streamed = watch.text_so_far()  # what was published before the subscription took
        if streamed:
            sent = streamed
            yield _chunk(base, {"content": streamed})
        final = watch.done()
        events = watch.events(timeout=min(HEARTBEAT_SECONDS, 1.0))
        quiet = 0.0
        while final is None and time.monotonic() < deadline:
            event = next(events)
            if event is None:
                quiet += 1.0
                final = watch.done()  # a done published before we listened, or a lost publish
                if final is None and quiet >= HEARTBEAT_SECONDS:
                    quiet = 0.0
                    yield b": keep-alive\n\n"
                continue
            quiet = 0.0
            kind = event.get("t")
            if kind == "token":
                offset, piece = int(event.get("o", 0)), str(event.get("d", ""))
                if offset <= len(sent) < offset + len(piece):
                    new = piece[len(sent) - offset :]
                    sent += new
                    yield _chunk(base, {"content": new})
            elif kind == "done":
                final = watch.done() or {"text": None}
        if final is None:
            logger.warning("openai.stream_timeout", extra={"message_id": message.pk})
            yield _chunk(base, {}, finish="length")
        else:
            text = final.get("text")
            if text is None:  # the done value expired or Redis lost it: read the stored reply
                reply = selectors.reply_for(session=session, message_id=message.pk)
                text = reply.content if reply else sent
            if text.startswith(sent) and len(text) > len(sent):
                yield _chunk(base, {"content": text[len(sent) :]})
            elif not text.startswith(sent):
                # The final reply differs from the streamed tokens (a later node, a retry, the apology): OpenAI
                # chunks cannot take text back, so the difference is logged and the client keeps what it got.
                logger.info("openai.stream_final_differs", extra={"message_id": message.pk})
            yield _chunk(base, {}, finish="stop")
        if usage:
            body = {**base, "choices": [], "usage": _usage(message)}
            yield b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
        yield b"data: [DONE]\n\n"
    finally:
        watch.close()

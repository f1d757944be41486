"""The LLM layer through the official SDKs over real HTTP against the loopback fake (no database needed)."""

from __future__ import annotations

import socket

import anthropic
import openai
import pytest

from shared_apps.catalog.selectors import ModelTraits
from shared_apps.core.exceptions import RetryableProviderError
from tenant_apps.providers.llm.clients import AnthropicChatModel, OpenAIChatModel
from tenant_apps.providers.llm.errors import (
    LlmAuthenticationError,
    LlmBadRequestError,
    LlmContextTooLongError,
    LlmError,
    LlmRateLimitError,
    LlmTimeoutError,
    LlmUnavailableError,
)
from tenant_apps.providers.llm.loop import run_tool_loop
from tenant_apps.providers.llm.types import ChatParams, Message, ToolCall, ToolSpec, Usage

KEY = "sk-test-0123456789abcdef"
WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CHAT = [
    Message(role="system", content="You are terse."),
    Message(role="user", content="Hi there"),
    Message(role="assistant", content="Hello."),
    Message(role="user", content="What is the weather?"),
]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def openai_model(fake, *, model="fake-model", traits=None, timeout=10.0, sleeps=None, **kwargs):
    client = openai.OpenAI(api_key=KEY, base_url=fake.openai_base_url, max_retries=0, timeout=timeout)
    return OpenAIChatModel(
        client=client,
        model=model,
        provider_type="openai",
        traits=traits,
        label="OpenAI",
        secrets=(KEY,),
        sleep=sleeps if sleeps is not None else Sleeps(),
        max_tokens_param=kwargs.pop("max_tokens_param", "max_completion_tokens"),
        **kwargs,
    )


def anthropic_model(fake, *, model="claude-fake", traits=None, timeout=10.0, sleeps=None, **kwargs):
    client = anthropic.Anthropic(api_key=KEY, base_url=fake.url, max_retries=0, timeout=timeout)
    return AnthropicChatModel(
        client=client,
        model=model,
        provider_type="anthropic",
        traits=traits,
        label="Anthropic",
        secrets=(KEY,),
        sleep=sleeps if sleeps is not None else Sleeps(),
        **kwargs,
    )


MODELS = [pytest.param(openai_model, id="openai"), pytest.param(anthropic_model, id="anthropic")]


# ---------------------------------------------------------------------------------------------------------- plain


def test_openai_chat_sends_system_prompt_and_history_and_returns_text_usage_latency(fake_llm):
    model = openai_model(fake_llm)

    result = model.chat(messages=CHAT, params=ChatParams(temperature=0.2, max_tokens=50))

    sent = fake_llm.last_request.json
    assert result.text == "Echo: What is the weather?"
    assert result.usage == Usage(input_tokens=10, output_tokens=5, cached_tokens=0)  # words
    assert result.finish_reason == "stop"
    assert result.latency_ms > 0
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["temperature"] == 0.2
    assert sent["max_completion_tokens"] == 50
    assert fake_llm.last_request.headers["authorization"] == f"Bearer {KEY}"


def test_openai_chat_reports_cached_tokens(fake_llm):
    fake_llm.reply("ok", usage={"input_tokens": 100, "output_tokens": 1, "cached_tokens": 64})

    result = openai_model(fake_llm).chat(messages=[Message(role="user", content="hi")])

    assert result.usage == Usage(input_tokens=100, output_tokens=1, cached_tokens=64)


def test_openai_compatible_endpoint_uses_max_tokens(fake_llm):
    model = openai_model(fake_llm, max_tokens_param="max_tokens")

    model.chat(messages=[Message(role="user", content="hi")], params=ChatParams(max_tokens=7))

    assert fake_llm.last_request.json["max_tokens"] == 7
    assert "max_completion_tokens" not in fake_llm.last_request.json


@pytest.mark.parametrize(
    ("traits", "sent_effort", "sent_temperature"),
    [
        pytest.param(
            ModelTraits(known=True, supports_reasoning_effort=True, supports_temperature=False),
            True,
            False,
            id="reasoning",
        ),
        pytest.param(ModelTraits(known=True), False, True, id="classic"),
        pytest.param(ModelTraits(known=False), True, True, id="unknown-passes-through"),
    ],
)
def test_openai_params_follow_model_traits(fake_llm, traits, sent_effort, sent_temperature):
    model = openai_model(fake_llm, traits=traits)

    model.chat(messages=[Message(role="user", content="x")], params=ChatParams(temperature=0.5, reasoning_effort="low"))

    sent = fake_llm.last_request.json
    assert ("reasoning_effort" in sent) is sent_effort
    assert ("temperature" in sent) is sent_temperature


def test_openai_json_schema_becomes_response_format(fake_llm):
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    fake_llm.reply('{"n": 3}')

    result = openai_model(fake_llm).chat(
        messages=[Message(role="user", content="x")], params=ChatParams(json_schema=schema)
    )

    assert fake_llm.last_request.json["response_format"]["json_schema"]["schema"] == schema
    assert result.text == '{"n": 3}'


@pytest.mark.parametrize("stream", [False, True])
def test_openai_requests_are_exactly_what_the_sdk_create_call_sends(fake_llm, stream):
    """We post the body ourselves to skip the SDK's slow request transform: the server must see the same request."""
    model = openai_model(fake_llm)
    params = ChatParams(temperature=0.3, max_tokens=50, json_schema={"type": "object"})
    if stream:
        list(model.stream(messages=CHAT, tools=[WEATHER], params=params))
    else:
        model.chat(messages=CHAT, tools=[WEATHER], params=params)
    ours = fake_llm.last_request
    body = model.request(CHAT, [WEATHER], params)
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    response = model.client.chat.completions.create(**body)
    if stream:
        list(response)
    sdk = fake_llm.last_request

    assert (ours.method, ours.path, ours.json) == (sdk.method, sdk.path, sdk.json)
    assert ours.headers["authorization"] == sdk.headers["authorization"]


def test_anthropic_chat_moves_system_prompt_and_returns_usage(fake_llm):
    fake_llm.reply("Sunny.", usage={"input_tokens": 40, "output_tokens": 2, "cached_tokens": 30})

    result = anthropic_model(fake_llm).chat(messages=CHAT, params=ChatParams(max_tokens=64))

    sent = fake_llm.last_request.json
    assert result.text == "Sunny."
    assert result.usage == Usage(input_tokens=40, output_tokens=2, cached_tokens=30)
    assert result.finish_reason == "stop"
    assert sent["system"] == "You are terse."
    assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["max_tokens"] == 64
    assert fake_llm.last_request.path == "/v1/messages"


def test_anthropic_effort_and_json_schema_go_to_output_config(fake_llm):
    model = anthropic_model(fake_llm, traits=ModelTraits(known=True, supports_reasoning_effort=True))
    schema = {"type": "object"}

    model.chat(
        messages=[Message(role="user", content="x")], params=ChatParams(reasoning_effort="high", json_schema=schema)
    )

    sent = fake_llm.last_request.json
    assert sent["output_config"] == {"effort": "high", "format": {"type": "json_schema", "schema": schema}}


# ---------------------------------------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("make", MODELS)
def test_stream_yields_text_then_a_result_with_usage(fake_llm, make):
    fake_llm.reply("one two three four", usage={"input_tokens": 9, "output_tokens": 4, "cached_tokens": 2})

    events = list(make(fake_llm).stream(messages=[Message(role="user", content="count")]))

    texts = [e.text for e in events if e.text]
    result = events[-1].result
    assert len(texts) == 4
    assert "".join(texts) == "one two three four"
    assert result.text == "one two three four"
    assert result.usage == Usage(input_tokens=9, output_tokens=4, cached_tokens=2)
    assert result.finish_reason == "stop"
    assert all(e.result is None for e in events[:-1])


@pytest.mark.parametrize("make", MODELS)
def test_stream_assembles_tool_calls(fake_llm, make):
    fake_llm.tool_call("get_weather", {"city": "Paris"}, id="call_1")

    events = list(make(fake_llm).stream(messages=[Message(role="user", content="weather?")], tools=[WEATHER]))

    result = events[-1].result
    assert result.tool_calls == (
        ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"}, raw_arguments='{"city": "Paris"}'),
    )
    assert result.finish_reason == "tool_calls"


def test_openai_stream_requests_usage_and_estimates_when_a_server_sends_none(fake_llm):
    model = openai_model(fake_llm, stream_usage=False)

    result = list(model.stream(messages=[Message(role="user", content="hello there")]))[-1].result

    assert "stream_options" not in fake_llm.last_request.json
    assert result.usage.input_tokens > 0
    assert result.usage.output_tokens > 0


# ---------------------------------------------------------------------------------------------------------- tools


@pytest.mark.parametrize("make", MODELS)
def test_chat_returns_tool_calls(fake_llm, make):
    fake_llm.tool_call("get_weather", {"city": "Oslo"}, id="call_9")

    result = make(fake_llm).chat(messages=[Message(role="user", content="weather in Oslo?")], tools=[WEATHER])

    assert result.finish_reason == "tool_calls"
    assert result.tool_calls[0].name == "get_weather"
    assert result.tool_calls[0].arguments == {"city": "Oslo"}
    assert result.tool_calls[0].id == "call_9"


@pytest.mark.parametrize("make", MODELS)
def test_run_tool_loop_runs_the_tool_and_sums_usage(fake_llm, make):
    fake_llm.tool_call("get_weather", {"city": "Oslo"}, id="call_1")
    fake_llm.reply("It is 3 degrees in Oslo.")
    calls = []

    def get_weather(call):
        calls.append(call.arguments)
        return "3 degrees"

    transcript: list[Message] = []
    result = run_tool_loop(
        make(fake_llm),
        messages=[Message(role="user", content="weather in Oslo?")],
        tools=[WEATHER],
        handlers={"get_weather": get_weather},
        transcript=transcript,
    )

    first, second = fake_llm.requests
    assert calls == [{"city": "Oslo"}]
    assert result.text == "It is 3 degrees in Oslo."
    assert result.tool_calls == ()
    # The fake counts words: round 1 reads 3 and says nothing, round 2 reads 3 + "3 degrees" and says 6.
    assert result.usage == Usage(input_tokens=3 + 5, output_tokens=0 + 6)
    assert "3 degrees" in str(second.json["messages"])
    assert [m.role for m in transcript] == ["assistant", "tool", "assistant"]
    assert transcript[1].tool_call_id == "call_1"
    assert first.json["tools"]


def test_run_tool_loop_tells_the_model_about_unknown_tools_and_stops_after_max_rounds(fake_llm):
    for _ in range(3):
        fake_llm.tool_call("nope", {})

    result = run_tool_loop(
        openai_model(fake_llm), messages=[Message(role="user", content="x")], tools=[WEATHER], handlers={}, max_rounds=2
    )

    assert len(fake_llm.requests) == 2
    assert result.finish_reason == "tool_calls"
    assert "no tool named 'nope'" in str(fake_llm.requests[1].json["messages"])


# ---------------------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("make", MODELS)
def test_wrong_key_is_an_authentication_error_without_the_key_in_the_message(fake_llm, make):
    fake_llm.api_key = "sk-the-right-one-000000"

    with pytest.raises(LlmAuthenticationError) as err:
        make(fake_llm).chat(messages=[Message(role="user", content="x")])

    assert err.value.code == "llm.authentication"
    assert KEY not in err.value.message
    assert "HTTP 401" in err.value.message
    assert len(fake_llm.requests) == 1  # not retried


@pytest.mark.parametrize("make", MODELS)
def test_rate_limit_then_success_is_retried_honouring_retry_after(fake_llm, make):
    fake_llm.error(429, "Slow down", headers={"Retry-After": "0"})
    fake_llm.reply("finally")
    sleeps = Sleeps()

    result = make(fake_llm, sleeps=sleeps).chat(messages=[Message(role="user", content="x")])

    assert result.text == "finally"
    assert len(fake_llm.requests) == 2
    assert sleeps == [0.0]


@pytest.mark.parametrize("make", MODELS)
def test_rate_limit_with_a_long_retry_after_raises_at_once_for_the_task_to_retry(fake_llm, make):
    fake_llm.error(429, "Quota", headers={"Retry-After": "120"})

    with pytest.raises(LlmRateLimitError) as err:
        make(fake_llm).chat(messages=[Message(role="user", content="x")])

    assert isinstance(err.value, RetryableProviderError)
    assert err.value.extra["retry_after"] == 120
    assert len(fake_llm.requests) == 1


def test_retries_are_bounded_with_backoff(fake_llm):
    for _ in range(5):
        fake_llm.error(503, "Overloaded")
    sleeps = Sleeps()

    with pytest.raises(LlmUnavailableError):
        openai_model(fake_llm, sleeps=sleeps, max_retries=2).chat(messages=[Message(role="user", content="x")])

    assert len(fake_llm.requests) == 3
    assert len(sleeps) == 2
    assert 0 < sleeps[0] <= sleeps[1] * 2


@pytest.mark.parametrize("make", MODELS)
def test_slow_provider_is_a_timeout(fake_llm, make):
    fake_llm.reply("too late", delay=1.5)

    with pytest.raises(LlmTimeoutError) as err:
        make(fake_llm, timeout=0.3, max_retries=0).chat(messages=[Message(role="user", content="x")])

    assert err.value.code == "llm.timeout"


@pytest.mark.parametrize("make", MODELS)
def test_too_long_prompt_is_a_context_error(fake_llm, make):
    fake_llm.context_window = 3

    with pytest.raises(LlmContextTooLongError) as err:
        make(fake_llm).chat(messages=[Message(role="user", content="one two three four five")])

    assert err.value.code == "llm.context_too_long"
    assert isinstance(err.value, LlmBadRequestError)


@pytest.mark.parametrize("make", MODELS)
def test_bad_request_is_not_retried(fake_llm, make):
    fake_llm.error(400, "temperature must be <= 2", code="invalid_value")

    with pytest.raises(LlmBadRequestError) as err:
        make(fake_llm).chat(messages=[Message(role="user", content="x")])

    assert err.value.code == "llm.bad_request"
    assert "temperature must be" in err.value.message
    assert len(fake_llm.requests) == 1


def test_unknown_model_is_reported_plainly(fake_llm):
    fake_llm.error(404, "The model `gpt-9` does not exist", code="model_not_found")

    with pytest.raises(LlmBadRequestError) as err:
        openai_model(fake_llm).chat(messages=[Message(role="user", content="x")])

    assert err.value.code == "llm.model_not_found"


def test_nothing_listening_is_unavailable_and_retryable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = openai.OpenAI(api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    model = OpenAIChatModel(client=client, model="m", provider_type="openai", max_retries=1, sleep=Sleeps())

    with pytest.raises(LlmUnavailableError) as err:
        model.chat(messages=[Message(role="user", content="x")])

    assert isinstance(err.value, RetryableProviderError)


def test_chat_model_repr_names_no_secret(fake_llm):
    model = openai_model(fake_llm)

    assert KEY not in repr(model)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html>502 from a proxy</html>"),
        ("application/json", b'{"choices": []}'),
        ("application/json", b"{}"),
    ],
)
def test_a_reply_without_an_answer_is_an_error_not_a_crash(content_type, body):
    """Some OpenAI-compatible servers and proxies answer 200 with something else than a completion."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Odd(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Odd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = openai.OpenAI(api_key=KEY, base_url=f"http://127.0.0.1:{server.server_port}/v1", max_retries=0)
        model = OpenAIChatModel(client=client, model="m", provider_type="openai")

        with pytest.raises(LlmError) as err:
            model.chat(messages=[Message(role="user", content="x")])
    finally:
        server.shutdown()

    assert err.value.code == "llm.empty_reply"


def test_openai_streams_read_to_the_end_so_the_connection_is_reused(fake_llm):
    model = openai_model(fake_llm)
    list(model.stream(messages=[Message(role="user", content="warm")]))
    opened = fake_llm.connections

    for text in ("one", "two", "three"):
        *_, last = model.stream(messages=[Message(role="user", content=text)])
        assert last.result.text == f"Echo: {text}"

    assert fake_llm.connections == opened  # no new connection per streamed call


def test_an_error_event_in_an_openai_stream_is_a_failed_call(fake_llm):
    from tests.fakes.llm_server import Response, _sse

    fake_llm.handle = lambda *args: Response.stream(iter([_sse({"error": {"message": "overloaded mid-stream"}})]))
    try:
        with pytest.raises(LlmError) as caught:
            list(openai_model(fake_llm).stream(messages=[Message(role="user", content="x")]))
    finally:
        del fake_llm.handle

    assert caught.value.code == "llm.failed"

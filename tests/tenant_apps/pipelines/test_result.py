"""JSON and text that leave the engine are strict: PostgreSQL accepts every result a run can produce.

NaN/Infinity (Python's ``json`` reads and writes them) and the NUL character (from a model, a server, or code)
are either refused with a clear node error (state) or converted consistently (text: NUL becomes U+FFFD; traces:
NaN becomes null). Each case below is run through the real LLM layer and HTTP stand-ins, and then everything the
turn stores is sent to PostgreSQL as Django's ``JSONField`` sends it.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection

from shared_apps.core.http import SafeResponse
from tenant_apps.conversations import ingress, turns
from tenant_apps.conversations import services as conversation_services
from tenant_apps.conversations.enums import Platform, TraceStatus, TurnStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession, Trace
from tenant_apps.pipelines import services
from tenant_apps.pipelines.engine.context import RunContext
from tenant_apps.pipelines.engine.result import RunResult
from tenant_apps.providers.llm.factory import chat_model_for
from tests.factories.pipelines import chain, code, node
from tests.factories.providers import llm_provider

pytestmark = pytest.mark.django_db


def server(body: str):
    def request(method, url, **kwargs):
        return SafeResponse(status=200, headers={}, content=body.encode(), url=url)

    return request


def assert_postgresql_accepts(result: RunResult) -> None:
    """Everything a turn stores from a result, through PostgreSQL's own type checks (json.dumps as JSONField)."""
    values = [
        json.dumps(result.trace_dicts()),
        json.dumps([change.as_dict() for change in result.participant_data_diff + result.session_state_diff]),
        result.output,
        result.error.message if result.error else "",
        result.message_tags,
    ]
    casts = "%s::jsonb, %s::jsonb, %s::text, %s::text, %s::text[]"
    if result.ok:  # state is stored only when the run succeeded
        values += [json.dumps(result.session_state), json.dumps(result.participant_data)]
        casts += ", %s::jsonb, %s::jsonb"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {casts}", values)


@pytest.fixture
def provider(team, fake_llm, catalog):
    return llm_provider(base_url=fake_llm.openai_base_url)


@pytest.fixture
def run(provider):
    def run(document, **fields):
        pipeline = services.pipeline_create_default(name="p", llm_provider_id=None, llm_model=None)
        pipeline = services.pipeline_update_graph(pipeline=pipeline, graph=document, base_revision=1)
        fields.setdefault("input_text", "hi")
        models = lambda provider_id, model: chat_model_for(provider_id=provider_id, model=model)  # noqa: E731
        return services.pipeline_run(pipeline=pipeline, context=RunContext(models=models, **fields))

    return run


def llm_node(provider, **params):
    return node("llm", "llm", llm_provider_id=provider.pk, llm_model="fake-model", history_type="none", **params)


def extract_node(provider, target="participant_data"):
    return node(
        "extract",
        "extract_structured_data",
        llm_provider_id=provider.pk,
        llm_model="fake-model",
        data_schema={"age": {"type": "number"}},
        target=target,
    )


@pytest.mark.parametrize(
    ("body", "code_"),
    [
        pytest.param("set_session_state_key('x', float('nan'))\nreturn 'ok'", "pipeline.code_bad_state", id="nan"),
        pytest.param("set_participant_data_key('x', [float('inf')])\nreturn 'ok'", "pipeline.code_bad_state", id="inf"),
        pytest.param("return {'x': float('nan')}", "pipeline.code_bad_output", id="nan-output"),
        pytest.param("set_session_state_key('x', 'a' + chr(0))\nreturn 'ok'", "pipeline.state_not_json", id="nul"),
        pytest.param("raise ValueError('bad ' + chr(0))", "pipeline.code_error", id="nul-in-error"),
    ],
)
def test_code_node_state_that_postgresql_refuses_fails_the_node(run, body, code_):
    result = run(chain(code(body)), session_state={"kept": 1})

    assert (result.error.node_id, result.error.code) == ("code", code_)
    assert_postgresql_accepts(result)


def test_code_node_text_with_nul_is_converted(run):
    body = "print('console ' + chr(0))\nadd_message_tag('tag' + chr(0))\nreturn 'reply ' + chr(0)"

    result = run(chain(code(body)))

    assert (result.ok, result.output, result.message_tags) == (True, "reply \ufffd", ["tag\ufffd"])
    assert result.trace[1].output == "reply \ufffd"
    assert result.trace_dicts()[1]["details"] == {"console": "console \ufffd\n"}
    assert_postgresql_accepts(result)


@pytest.mark.parametrize("answer", ['{"age": NaN}', '{"age": Infinity}', '{"age": 1e999}'])
@pytest.mark.parametrize("target", ["participant_data", "output"])
def test_extract_node_refuses_a_models_nan(run, provider, fake_llm, answer, target):
    fake_llm.reply(answer)

    result = run(chain(extract_node(provider, target)), participant_data={"age": 3})

    assert (result.error.node_id, result.error.code) == ("extract", "pipeline.extract_invalid_output")
    assert_postgresql_accepts(result)


def test_tool_call_with_nan_is_answered_with_an_error_and_stores_nothing(run, provider, fake_llm):
    fake_llm.tool_call("set_session_state", {"key": "x", "value": float("nan")})
    fake_llm.reply("Done.")

    result = run(chain(llm_node(provider, tools=["set_session_state"])), session_state={"kept": 1})

    assert (result.ok, result.output, result.session_state) == (True, "Done.", {"kept": 1})
    assert "must be JSON" in result.trace[1].details["tool_calls"][0]["result"]
    assert_postgresql_accepts(result)


def test_model_reply_with_nul_is_converted(run, provider, fake_llm):
    fake_llm.reply("a\x00b")

    result = run(chain(llm_node(provider)))

    assert (result.ok, result.output) == (True, "a\ufffdb")
    assert_postgresql_accepts(result)


@pytest.mark.parametrize(
    ("body", "saved"),
    [
        pytest.param('{"t": NaN}', '{"t": NaN}', id="nan-kept-as-text"),
        pytest.param('{"t": 1e999}', '{"t": 1e999}', id="overflow-kept-as-text"),
        pytest.param("[" * 5000 + "]" * 5000, "[" * 5000 + "]" * 5000, id="deep-kept-as-text"),
        pytest.param('{"t": 21}', {"t": 21}, id="json"),
    ],
)
def test_http_node_saves_only_strict_json_as_data(run, body, saved):
    document = chain(node("h", "http_request", url="https://x.org/", save_response_to="r"))

    result = run(document, http_request=server(body))

    assert result.temp_state["r"]["body"] == saved
    assert_postgresql_accepts(result)


def test_http_node_binary_response_is_stored_as_text(run):
    result = run(chain(node("h", "http_request", url="https://x.org/")), http_request=server("PK\x03\x04\x00\x00"))

    assert (result.ok, result.output) == (True, "PK\x03\x04\ufffd\ufffd")
    assert_postgresql_accepts(result)


def test_turn_with_unstorable_state_ends_once_with_an_apology(team, owner, chatbot):
    pipeline = chatbot.pipeline
    graph = chain(code("set_session_state_key('x', float('nan'))\nreturn 'ok'"))
    services.pipeline_update_graph(pipeline=pipeline, graph=graph, base_revision=pipeline.edit_revision)
    participant = conversation_services.participant_for_member(user=owner)
    session = conversation_services.session_start(
        chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB
    )
    message = ingress.message_receive(session=session, inbound=ingress.Inbound(text="hi")).message

    reply = turns.turn_process(message_id=message.pk)

    message.refresh_from_db()
    trace = Trace.objects.get(message=message)
    assert message.turn_status == TurnStatus.FAILED
    assert reply.metadata == {"error": True}
    assert (trace.status, trace.error_node_id) == (TraceStatus.ERROR, "code")
    assert ChatSession.objects.get(pk=session.pk).state == {}
    assert ChatMessage.objects.filter(reply_to=message).count() == 1

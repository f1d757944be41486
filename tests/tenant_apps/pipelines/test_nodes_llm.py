"""LLM-calling nodes with a scripted model: prompt variables, tools, history modes, extraction."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tenant_apps.pipelines.engine.context import HistoryEntry, HistoryKey, InMemoryHistoryStore
from tests.factories.pipelines import LLM, chain, llm, node
from tests.fakes.scripted_chat_model import ModelDirectory, ScriptedChatModel, tool_call_reply

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_llm_prompt_variables_are_rendered(run_graph, model):
    model.replies = ["ok"]
    prompt = (
        "Data: {participant_data}. Lang: {session_state.lang}. Deep: {session_state.a.b}. "
        "Said: {temp_state.user_input}. Missing: [{session_state.nope}]. Now: {current_datetime}. "
        'Literal: {{x}} {"k": 1}'
    )

    run_graph(
        chain(llm(prompt=prompt)),
        input_text="hey",
        participant_data={"name": "Ada"},
        session_state={"lang": "fr", "a": {"b": 3}},
        now=lambda: NOW,
    )

    assert model.calls[0].system == (
        'Data: {"name": "Ada"}. Lang: fr. Deep: 3. Said: hey. Missing: []. '
        'Now: Wednesday, 04 March 2026 05:06:07 UTC. Literal: {x} {"k": 1}'
    )
    assert model.calls[0].last_user == "hey"


def test_llm_asks_the_resolver_for_its_provider_and_model(run_graph, model):
    directory = ModelDirectory(model)
    model.replies = ["ok"]

    run_graph(chain(llm(llm_provider_id=7, llm_model="gpt-test", temperature=0.2, max_tokens=99)), models=directory)

    assert directory.requests == [(7, "gpt-test")]
    assert (model.calls[0].params.temperature, model.calls[0].params.max_tokens) == (0.2, 99)


def test_llm_without_models_fails_cleanly(run_graph):
    from tenant_apps.pipelines.engine.context import no_models

    result = run_graph(chain(llm()), models=no_models)

    assert (result.error.node_id, result.error.code) == ("llm", "pipeline.no_model")


def test_llm_tools_are_offered_and_results_fed_back(run_graph, model):
    model.replies = [tool_call_reply(("set_session_state", {"key": "topic", "value": "tax"})), "Done"]

    result = run_graph(chain(llm(tools=["set_session_state"])))

    assert [spec.name for spec in model.calls[0].tools] == ["set_session_state"]
    tool_message = model.calls[1].messages[-1]
    assert (tool_message.role, tool_message.content, tool_message.tool_call_id) == ("tool", "Saved.", "call_0")
    assert result.session_state == {"topic": "tax"}
    assert result.trace[1].details["tool_calls"] == [
        {"name": "set_session_state", "arguments": {"key": "topic", "value": "tax"}, "result": "Saved."}
    ]
    assert result.usage[0].calls == 2


def test_llm_tool_not_enabled_is_refused(run_graph, model):
    model.replies = [tool_call_reply(("end_session", {})), "Bye"]

    result = run_graph(chain(llm(tools=["set_session_state"])))

    assert result.end_session is False
    assert model.calls[1].messages[-1].content.startswith("Error: there is no tool")


def test_llm_tool_loop_forces_an_answer_after_max_rounds(run_graph, model):
    model.replies = [tool_call_reply(("end_session", {}))] * 5 + ["Final"]

    result = run_graph(chain(llm(tools=["end_session"])))

    assert result.output == "Final"
    assert len(model.calls) == 6
    assert model.calls[-1].tools == []  # after five rounds of tools, one call without tools forces an answer
    assert result.usage[0].calls == 6
    assert len(result.trace[1].details["tool_calls"]) == 4  # the fifth round's calls were never run


def test_llm_tag_is_added(run_graph, model):
    model.replies = ["ok"]

    assert run_graph(chain(llm(tag="greeting"))).message_tags == ["greeting"]


@pytest.mark.parametrize(
    ("history_params", "key"),
    [
        pytest.param({"history_type": "global"}, HistoryKey("global"), id="global"),
        pytest.param({"history_type": "node"}, HistoryKey("node", "llm"), id="node"),
        pytest.param({"history_type": "named", "history_name": "shared"}, HistoryKey("named", "shared"), id="named"),
    ],
)
def test_llm_history_modes_load_and_append_their_history(run_graph, model, history_params, key):
    history = InMemoryHistoryStore({key: [HistoryEntry("user", "earlier"), HistoryEntry("assistant", "reply")]})
    model.replies = ["now"]

    run_graph(chain(llm(**history_params)), input_text="again", history=history)

    assert [(m.role, m.content) for m in model.calls[0].messages] == [
        ("user", "earlier"),
        ("assistant", "reply"),
        ("user", "again"),
    ]
    assert [(e.role, e.content) for e in history.load(key)][-2:] == [("user", "again"), ("assistant", "now")]


def test_llm_history_none_sends_and_stores_nothing(run_graph, model):
    history = InMemoryHistoryStore({HistoryKey("global"): [HistoryEntry("user", "old")]})
    model.replies = ["x"]

    run_graph(chain(llm(history_type="none")), history=history)

    assert len(model.calls[0].messages) == 1
    assert history.histories == {HistoryKey("global"): history.histories[HistoryKey("global")]}
    assert len(history.load(HistoryKey("global"))) == 1


def test_llm_named_history_is_shared_between_nodes(run_graph, model):
    history = InMemoryHistoryStore()
    model.replies = ["first answer", "second answer"]
    named = {"history_type": "named", "history_name": "team"}

    run_graph(chain(llm("one", **named), llm("two", **named)), input_text="q", history=history)

    assert [m.content for m in model.calls[1].messages] == ["q", "first answer", "first answer"]


def test_llm_summarize_puts_summary_in_system_prompt_and_records_usage(run_graph, model):
    key = HistoryKey("node", "llm")
    history = InMemoryHistoryStore({key: [HistoryEntry("user", "w " * 40), HistoryEntry("assistant", "v " * 40)]})
    model.replies = ["SUMMARY", "answer"]
    params = {"history_type": "node", "history_mode": "summarize", "user_max_token_limit": 64}

    result = run_graph(chain(llm(prompt="Be nice.", **params)), input_text="new", history=history, count_tokens=_words)

    summary_call, answer_call = model.calls
    assert "w w w" in summary_call.last_user
    assert answer_call.system == "Be nice.\n\nSummary of the earlier conversation:\nSUMMARY"
    assert result.usage[0].calls == 2
    assert result.trace[1].usage.input_tokens == 20
    assert history.load(key)[0].summary == "SUMMARY"


def _words(text: str, model: str) -> int:
    return len(text.split())


def test_extract_structured_data_outputs_json(run_graph, model):
    model.replies = ['{"name": "Ada", "age": 36, "extra": "ignored"}']
    params = {**LLM, "data_schema": {"name": "first name", "age": {"type": "integer", "description": "years"}}}

    result = run_graph(chain(node("x", "extract_structured_data", **params)), input_text="I'm Ada, 36")

    assert json.loads(result.output) == {"name": "Ada", "age": 36}
    schema = model.calls[0].params.json_schema
    assert schema["required"] == ["name", "age"]
    assert schema["properties"]["age"]["type"] == ["integer", "null"]
    assert model.calls[0].last_user == "I'm Ada, 36"


@pytest.mark.parametrize(
    ("key_name", "expected"),
    [
        pytest.param("", {"name": "Ada", "city": "Paris", "age": 36}, id="merge-top-level"),
        pytest.param("profile", {"name": "Old", "city": "Paris", "profile": {"x": 1, "name": "Ada"}}, id="nested"),
    ],
)
def test_extract_structured_data_merges_into_participant_data(run_graph, model, key_name, expected):
    model.replies = ['{"name": "Ada", "age": null}' if key_name else '{"name": "Ada", "age": 36}']
    params = {**LLM, "data_schema": {"name": "n", "age": "a"}, "target": "participant_data", "key_name": key_name}
    start = {"name": "Old", "city": "Paris", "profile": {"x": 1}} if key_name else {"name": "Old", "city": "Paris"}

    result = run_graph(chain(node("x", "extract_structured_data", **params)), participant_data=start)

    assert result.participant_data == expected
    assert "What we already know" in model.calls[0].system


def test_extract_structured_data_refuses_non_json(run_graph, model):
    model.replies = ["I could not find anything"]

    result = run_graph(chain(node("x", "extract_structured_data", **LLM, data_schema={"a": "b"})))

    assert (result.error.node_id, result.error.code) == ("x", "pipeline.extract_invalid_output")


def test_llm_router_history_records_keyword(run_graph):
    router_model = ScriptedChatModel(replies=["B"])
    history = InMemoryHistoryStore()
    document = {
        "nodes": [
            node("start", "start"),
            node("r", "llm_router", llm_provider_id=1, llm_model="m", keywords=["A", "B"], history_type="node"),
            node("end", "end"),
        ],
        "edges": [
            {"id": "1", "source": "start", "target": "r"},
            {"id": "2", "source": "r", "target": "end", "source_handle": "output_0"},
            {"id": "3", "source": "r", "target": "end", "source_handle": "output_1"},
        ],
    }

    result = run_graph(document, history=history, models=ModelDirectory(router_model))

    assert result.trace[1].route_keyword == "B"
    assert [e.content for e in history.load(HistoryKey("node", "r"))] == ["hi", "B"]

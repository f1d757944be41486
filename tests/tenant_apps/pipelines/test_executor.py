"""The executor: order, router edge selection, joins, state scopes and diffs, failures as results."""

from __future__ import annotations

import json

import pytest

from tenant_apps.pipelines.engine.context import Attachment, InMemoryHistoryStore
from tenant_apps.pipelines.engine.executor import compile_graph
from tenant_apps.pipelines.engine.result import StateChange
from tenant_apps.pipelines.exceptions import PipelineInvalidError
from tenant_apps.providers.llm.errors import LlmRateLimitError
from tests.factories.pipelines import chain, edge, graph, llm, node
from tests.fakes.scripted_chat_model import tool_call_reply


def template(node_id, text, label=""):
    return node(node_id, "template", label=label, template_string=text)


def static_router(node_id="router", keywords=("EN", "FR"), source="participant_data", key="lang", **params):
    return node(node_id, "static_router", data_source=source, route_key=key, keywords=list(keywords), **params)


def branching(router_node, branches):
    """start -> router -> one template per keyword -> end."""
    nodes = [node("start", "start"), router_node, node("end", "end")]
    edges = [edge("start", router_node["id"])]
    for index, text in enumerate(branches):
        nodes.append(template(f"branch{index}", text))
        edges += [edge(router_node["id"], f"branch{index}", f"output_{index}"), edge(f"branch{index}", "end")]
    return graph(*nodes, edges=edges)


def test_run_chain_returns_reply_trace_and_usage(run_graph, model):
    model.replies = ["Hello there"]

    result = run_graph(chain(llm(label="Greeter")), input_text="hi")

    assert result.ok
    assert result.output == "Hello there"
    assert result.node_path == ["start", "llm", "end"]
    assert [(t.node_id, t.node_type, t.label, t.input, t.output) for t in result.trace] == [
        ("start", "start", "Start", "hi", "hi"),
        ("llm", "llm", "Greeter", "hi", "Hello there"),
        ("end", "end", "End", "Hello there", "Hello there"),
    ]
    assert result.trace[1].usage.input_tokens == 10
    assert result.trace[1].model == "scripted-model"
    assert [(u.provider_id, u.model, u.calls, u.usage.output_tokens) for u in result.usage] == [
        (1, "scripted-model", 1, 5)
    ]
    assert all(t.duration_ms >= 0 for t in result.trace)
    assert json.dumps(result.trace_dicts())  # the trace is JSON for the caller to store


@pytest.mark.parametrize(("lang", "reply", "handle"), [("FR", "bonjour", "output_1"), ("en", "hello", "output_0")])
def test_run_static_router_takes_matching_branch_only(run_graph, lang, reply, handle):
    document = branching(static_router(), ["hello", "bonjour"])

    result = run_graph(document, participant_data={"lang": lang})

    assert result.output == reply
    assert result.trace[1].route == handle
    assert len(result.trace) == 4  # start, router, one branch, end: the other branch was skipped


def test_run_static_router_falls_back_to_default(run_graph):
    document = branching(static_router(default_keyword_index=1), ["hello", "bonjour"])

    result = run_graph(document, participant_data={"lang": "DE"})

    assert result.output == "bonjour"
    assert result.trace[1].details == {"value": "DE"}


@pytest.mark.parametrize(
    ("source", "state_field"),
    [("session_state", "session_state"), ("participant_data", "participant_data")],
)
def test_run_static_router_reads_nested_keys_in_each_scope(run_graph, source, state_field):
    document = branching(static_router(source=source, key="profile.lang"), ["hello", "bonjour"])

    result = run_graph(document, **{state_field: {"profile": {"lang": "fr"}}})

    assert result.output == "bonjour"


def test_run_static_router_on_temp_state(run_graph):
    document = branching(static_router(source="temp_state", key="user_input"), ["hello", "bonjour"])

    assert run_graph(document, input_text="FR").output == "bonjour"


def test_run_router_tags_message_when_asked(run_graph):
    document = branching(static_router(label="Lang", tag_output_message=True), ["hello", "bonjour"])
    document["nodes"][1]["label"] = "Lang"

    result = run_graph(document, participant_data={"lang": "EN"})

    assert result.message_tags == ["Lang:EN"]


def test_run_join_waits_for_every_taken_input_and_runs_once(run_graph):
    document = graph(
        node("start", "start"),
        template("a", "A:{{ input }}"),
        template("b", "B:{{ input }}"),
        template("join", "{{ input }}|{{ node_inputs | tojson }}"),
        node("end", "end"),
        edges=[edge("start", "a"), edge("start", "b"), edge("a", "join"), edge("b", "join"), edge("join", "end")],
    )

    result = run_graph(document, input_text="x")

    assert result.node_path == ["start", "a", "b", "join", "end"]
    assert result.output == 'A:x\n\nB:x|{"a": "A:x", "b": "B:x"}'


def test_run_join_after_router_does_not_wait_for_skipped_branch(run_graph):
    document = branching(static_router(), ["hello", "bonjour"])
    document["nodes"].append(template("after", "[{{ input }}]"))
    document["edges"] = [e for e in document["edges"] if e["target"] != "end"]
    document["edges"] += [edge("branch0", "after"), edge("branch1", "after"), edge("after", "end")]

    result = run_graph(document, participant_data={"lang": "FR"})

    assert result.output == "[bonjour]"
    assert "branch0" not in result.node_path


def test_run_llm_router_follows_structured_answer(run_graph, model):
    model.replies = ['{"route": "billing"}', "Let me help with your bill"]
    document = graph(
        node("start", "start"),
        node(
            "router",
            "llm_router",
            llm_provider_id=1,
            llm_model="m",
            prompt="Classify.",
            keywords=["SUPPORT", "BILLING"],
        ),
        template("support", "support"),
        llm("billing_llm"),
        node("end", "end"),
        edges=[
            edge("start", "router"),
            edge("router", "support", "output_0"),
            edge("router", "billing_llm", "output_1"),
            edge("support", "end"),
            edge("billing_llm", "end"),
        ],
    )

    result = run_graph(document, input_text="my invoice is wrong")

    assert result.output == "Let me help with your bill"
    assert (result.trace[1].route, result.trace[1].route_keyword) == ("output_1", "BILLING")
    schema = model.calls[0].params.json_schema
    assert schema["properties"]["route"]["enum"] == ["SUPPORT", "BILLING"]
    assert "SUPPORT, BILLING" in model.calls[0].system
    assert model.calls[1].last_user == "my invoice is wrong"  # the router passes its input through


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param("BILLING", "output_1", id="plain-keyword"),
        pytest.param("billing.", "output_1", id="keyword-with-punctuation"),
        pytest.param('```json\n{"route": "SUPPORT"}\n```', "output_0", id="fenced-json"),
        pytest.param("I think it's billing", "output_2", id="prose-goes-default"),
        pytest.param('{"route": "SALES"}', "output_2", id="unknown-keyword-goes-default"),
        pytest.param('{"other": 1}', "output_2", id="wrong-json-goes-default"),
        pytest.param("", "output_2", id="empty-goes-default"),
    ],
)
def test_run_llm_router_falls_back_to_default_on_anything_else(run_graph, model, answer, expected):
    model.replies = [answer]
    router = node(
        "router",
        "llm_router",
        llm_provider_id=1,
        llm_model="m",
        keywords=["SUPPORT", "BILLING", "OTHER"],
        default_keyword_index=2,
    )

    result = run_graph(branching(router, ["s", "b", "o"]))

    assert result.trace[1].route == expected
    assert ("fallback" in (result.trace[1].details or {})) == (expected == "output_2")


def test_run_node_failure_is_a_result_naming_the_node(run_graph, model):
    model.replies = ["never used"]
    document = chain(template("greet", "Hello {{ participant_data.name }}", label="Greeting"), llm())

    result = run_graph(document)

    assert not result.ok
    assert result.output == ""
    assert (result.error.node_id, result.error.node_type, result.error.label) == ("greet", "template", "Greeting")
    assert result.error.code == "pipeline.template_undefined"
    assert "name" in result.error.message
    assert result.node_path == ["start", "greet"]
    assert result.trace[-1].error == result.error
    assert model.calls == []  # nothing after the failing node ran


def test_run_llm_error_keeps_its_code(run_graph, model):
    model.replies = [LlmRateLimitError(code="llm.rate_limited", message="Slow down.")]

    result = run_graph(chain(llm()))

    assert (result.error.node_id, result.error.code, result.error.message) == ("llm", "llm.rate_limited", "Slow down.")


def test_run_unexpected_node_exception_is_caught(run_graph, model, caplog):
    model.replies = [RuntimeError("boom")]

    result = run_graph(chain(llm()))

    assert (result.error.node_id, result.error.code) == ("llm", "pipeline.node_crashed")
    assert "boom" not in result.error.message  # internals go to the log, not the trace
    assert "pipeline.node_crashed" in caplog.text


def test_run_state_diffs_and_originals_untouched(run_graph, model):
    model.replies = [
        tool_call_reply(
            ("set_participant_data", {"key": "name", "value": "Ada"}),
            ("set_participant_data", {"key": "prefs.color", "value": "green"}),
            ("set_session_state", {"key": "step", "value": 2}),
            ("end_session", {}),
        ),
        "Noted, Ada.",
    ]
    participant = {"name": "A.", "prefs": {"color": "red", "size": "M"}, "drop": None}
    session = {"step": 1}
    document = chain(llm(tools=["set_participant_data", "set_session_state", "end_session"]))

    result = run_graph(document, participant_data=participant, session_state=session)

    assert result.output == "Noted, Ada."
    assert result.participant_data == {"name": "Ada", "prefs": {"color": "green", "size": "M"}, "drop": None}
    assert result.participant_data_diff == [
        StateChange("change", "name", "A.", "Ada"),
        StateChange("change", "prefs.color", "red", "green"),
    ]
    assert result.session_state_diff == [StateChange("change", "step", 1, 2)]
    assert result.end_session is True
    assert participant == {"name": "A.", "prefs": {"color": "red", "size": "M"}, "drop": None}
    assert session == {"step": 1}


def test_run_temp_state_holds_input_and_attachments(run_graph):
    document = chain(template("t", "{{ temp_state.user_input }}/{{ temp_state.attachments[0].name }}"))

    result = run_graph(
        document, input_text="look", attachments=[Attachment(name="a.png", content_type="image/png", size=3)]
    )

    assert result.output == "look/a.png"


def test_run_templates_see_earlier_node_outputs(run_graph):
    document = chain(template("first", "one"), template("second", "{{ node_outputs.first }}+{{ input }}"))

    assert run_graph(document).output == "one+one"


def test_compile_refuses_invalid_graph_with_every_error():
    with pytest.raises(PipelineInvalidError) as caught:
        compile_graph(graph(node("start", "start"), edges=[]))

    assert caught.value.code == "pipeline.invalid"
    assert [error["code"] for error in caught.value.extra["errors"]] == ["graph.no_end"]


def test_run_compiled_pipeline_is_reusable_across_runs(model):
    from tenant_apps.pipelines.engine.context import RunContext
    from tests.fakes.scripted_chat_model import ModelDirectory

    compiled = compile_graph(chain(llm(history_type="global")))
    history = InMemoryHistoryStore()
    model.replies = ["one", "two"]

    first = compiled.run(RunContext(input_text="a", models=ModelDirectory(model), history=history))
    second = compiled.run(RunContext(input_text="b", models=ModelDirectory(model), history=history))

    assert (first.output, second.output) == ("one", "two")
    assert [m.content for m in model.calls[1].messages] == ["a", "one", "b"]

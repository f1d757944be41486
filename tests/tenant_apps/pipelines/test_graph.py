"""Server-side validation of whole graphs: every rule, and every error at once, each with its node."""

from __future__ import annotations

import pytest

from tenant_apps.pipelines.graph import pipeline_validate
from tests.factories.pipelines import LLM, chain, edge, graph, llm, node


def codes(errors):
    return sorted((error.code, error.node_id) for error in errors)


def router(node_id="router", keywords=("A", "B"), **params):
    return node(node_id, "static_router", route_key="lang", keywords=list(keywords), **params)


def test_validate_default_shaped_chain_has_no_errors():
    assert pipeline_validate(graph=chain(llm())) == []


def test_validate_reports_missing_start_and_end():
    errors = pipeline_validate(graph=graph(llm(), edges=[]))

    assert ("graph.no_start", None) in codes(errors)
    assert ("graph.no_end", None) in codes(errors)


def test_validate_reports_each_extra_start_and_end():
    document = chain(llm())
    document["nodes"] += [node("start2", "start"), node("end2", "end")]
    document["edges"] += [edge("start2", "end2")]

    errors = codes(pipeline_validate(graph=document))

    assert ("graph.multiple_starts", "start2") in errors
    assert ("graph.multiple_ends", "end2") in errors


def test_validate_reports_cycle_with_its_nodes():
    document = chain(llm("a"), llm("b"))
    document["edges"].append(edge("b", "a"))

    errors = pipeline_validate(graph=document)

    cycle = [error for error in errors if error.code == "graph.cycle"]
    assert len(cycle) == 1
    assert cycle[0].node_id == "a"
    assert "a → b" in cycle[0].message


def test_validate_reports_self_loop_as_cycle():
    document = chain(llm("a"))
    document["edges"].append(edge("a", "a"))

    assert ("graph.cycle", "a") in codes(pipeline_validate(graph=document))


def test_validate_reports_unreachable_end():
    document = graph(node("start", "start"), llm("a"), node("end", "end"), edges=[edge("start", "a")])

    errors = codes(pipeline_validate(graph=document))

    assert ("graph.end_unreachable", "end") in errors
    assert ("graph.dead_end", "a") in errors
    assert ("graph.dead_end", "start") in errors


def test_validate_reports_node_unreachable_from_start():
    document = chain(llm("a"))
    document["nodes"].append(llm("island"))
    document["edges"].append(edge("island", "end"))

    assert codes(pipeline_validate(graph=document)) == [("graph.unreachable_node", "island")]


def test_validate_reports_dangling_edges():
    document = chain(llm("a"))
    document["edges"] += [edge("a", "ghost"), edge("phantom", "nowhere")]

    errors = [error for error in pipeline_validate(graph=document) if error.code == "graph.dangling_edge"]

    assert [(error.node_id, error.edge_id) for error in errors] == [
        ("a", "a:output->ghost"),
        (None, "phantom:output->nowhere"),
    ]


def test_validate_reports_unknown_handles_on_both_ends():
    document = chain(llm("a"))
    document["edges"] += [
        edge("a", "end", source_handle="output_7"),
        dict(edge("start", "a", target_handle="side"), id="x"),
    ]

    errors = [error for error in pipeline_validate(graph=document) if error.code == "graph.unknown_handle"]

    assert sorted(error.node_id for error in errors) == ["a", "a"]


def test_validate_refuses_edges_into_start_and_out_of_end():
    document = chain(llm("a"))
    document["edges"] += [edge("a", "start"), edge("end", "a")]

    errors = [error.message for error in pipeline_validate(graph=document) if error.code == "graph.unknown_handle"]

    assert "The start node has no inputs." in errors
    assert "The end node has no outputs." in errors


def test_validate_reports_duplicate_ids_and_edges():
    document = chain(llm("a"))
    document["nodes"].append(llm("a"))
    document["edges"].append(dict(edge("a", "end"), id="other"))
    document["edges"].append(edge("a", "end"))

    errors = codes(pipeline_validate(graph=document))

    assert ("graph.duplicate_node_id", "a") in errors
    assert ("graph.duplicate_edge", "a") in errors
    assert ("graph.duplicate_edge_id", None) in errors


def test_validate_reports_router_output_not_wired():
    document = graph(
        node("start", "start"),
        router(keywords=["EN", "FR", "DE"]),
        node("end", "end"),
        edges=[edge("start", "router"), edge("router", "end", "output_0"), edge("router", "end", "output_2")],
    )

    errors = [error for error in pipeline_validate(graph=document) if error.code == "graph.router_output_unwired"]

    assert [(error.node_id, error.field) for error in errors] == [("router", "keywords.1")]
    assert "'FR'" in errors[0].message


def test_validate_reports_router_edge_from_handle_beyond_its_keywords():
    document = graph(
        node("start", "start"),
        router(keywords=["EN"]),
        node("end", "end"),
        edges=[edge("start", "router"), edge("router", "end", "output_0"), edge("router", "end", "output_1")],
    )

    errors = codes(pipeline_validate(graph=document))

    assert errors == [("graph.unknown_handle", "router")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"llm_model": "m"}, "llm_provider_id", id="missing-provider"),
        pytest.param({**LLM, "temperature": 7}, "temperature", id="out-of-range"),
        pytest.param({**LLM, "prompt": "Hi {participant_name}"}, "prompt", id="unknown-variable"),
        pytest.param({**LLM, "prompt": "State: {session_state}"}, "prompt", id="state-without-key"),
        pytest.param({**LLM, "history_type": "named"}, "history_name", id="named-without-name"),
        pytest.param({**LLM, "tools": ["set_session_state", "set_session_state"]}, "tools", id="duplicate-tool"),
        pytest.param({**LLM, "tools": ["rm_rf"]}, "tools.0", id="unknown-tool"),
        pytest.param({**LLM, "surprise": 1}, "surprise", id="unknown-param"),
    ],
)
def test_validate_reports_llm_param_errors_with_field_path(params, field):
    document = chain(node("llm", "llm", **params))

    errors = pipeline_validate(graph=document)

    assert [(error.code, error.node_id, error.field) for error in errors] == [("node.invalid_params", "llm", field)]


@pytest.mark.parametrize(
    ("node_type", "params", "field"),
    [
        pytest.param("template", {"template_string": "{% if %}"}, "template_string", id="template-syntax"),
        pytest.param("code", {"code": "import os\nos.system('x')"}, "code", id="code-no-main"),
        pytest.param("code", {"code": "def main(input):\n    return input.__class__"}, "code", id="code-dunder"),
        pytest.param("code", {"code": "def main(:"}, "code", id="code-syntax"),
        pytest.param(
            "send_email", {"recipient_list": "a@b.org, nope", "subject": "s", "body": "b"}, "recipient_list", id="email"
        ),
        pytest.param("http_request", {"url": "ftp://example.org"}, "url", id="http-scheme"),
        pytest.param("http_request", {"url": "https://x.org", "headers": {"Bad Header": "v"}}, "headers", id="header"),
        pytest.param("extract_structured_data", {**LLM, "data_schema": {}}, "data_schema", id="extract-empty"),
        pytest.param(
            "extract_structured_data",
            {**LLM, "data_schema": {"age": {"type": "int"}}},
            "data_schema",
            id="extract-type",
        ),
    ],
)
def test_validate_reports_node_param_errors(node_type, params, field):
    errors = pipeline_validate(graph=chain(node("n", node_type, **params)))

    assert [(error.code, error.node_id, error.field) for error in errors] == [("node.invalid_params", "n", field)]


def test_validate_router_keywords_must_be_unique_and_default_in_range():
    document = graph(
        node("start", "start"),
        router(keywords=["yes", "YES"], default_keyword_index=5),
        node("end", "end"),
        edges=[edge("start", "router"), edge("router", "end", "output_0"), edge("router", "end", "output_1")],
    )

    errors = pipeline_validate(graph=document)

    assert sorted(error.field for error in errors) == ["keywords"]  # the default is checked once keywords are valid


def test_validate_reports_unknown_node_type():
    assert codes(pipeline_validate(graph=chain(node("x", "teleport")))) == [("graph.unknown_node_type", "x")]


def test_validate_returns_every_error_at_once():
    document = graph(
        node("start", "start"),
        node("llm", "llm", llm_model="m", prompt="{nope}"),
        router(keywords=["A", "B"]),
        node("orphan", "template", template_string="{{ input }}"),
        node("end", "end"),
        edges=[
            edge("start", "llm"),
            edge("llm", "router"),
            edge("router", "end", "output_0"),
            edge("router", "ghost", "output_1"),
        ],
    )

    errors = codes(pipeline_validate(graph=document))

    assert errors == sorted(
        [
            ("node.invalid_params", "llm"),  # llm_provider_id missing
            ("node.invalid_params", "llm"),  # unknown prompt variable
            ("graph.dangling_edge", "router"),
            ("graph.router_output_unwired", "router"),
            ("graph.unreachable_node", "orphan"),
            ("graph.dead_end", "orphan"),
        ]
    )


def test_validate_reports_bad_shape_without_raising():
    errors = pipeline_validate(graph={"nodes": "not a list"})

    assert [error.code for error in errors] == ["graph.bad_shape"]


def test_a_new_rule_is_one_more_function_in_the_rules(monkeypatch):
    from tenant_apps.pipelines import graph as graph_module

    def no_node_named_todo(check):
        for node_id in check.nodes:
            if node_id == "todo":
                yield graph_module.GraphError("graph.todo", "Rename the node called todo.", node_id)

    monkeypatch.setattr(graph_module, "RULES", [*graph_module.RULES, no_node_named_todo])

    assert codes(pipeline_validate(graph=chain(llm("todo")))) == [("graph.todo", "todo")]

from tenant_apps.chatbots.versioning import compare

SETTINGS = {
    "name": "Helper",
    "description": "",
    "seed_message": "Hi",
    "participant_allowlist": [],
    "file_uploads_enabled": False,
    "consent": None,
}
GRAPH = {
    "nodes": [
        {"id": "start", "type": "start", "label": "Start", "params": {}},
        {"id": "llm", "type": "llm", "label": "Answer", "params": {"prompt": "Be nice", "model": "m1"}},
        {"id": "end", "type": "end", "label": "End", "params": {}},
    ],
    "edges": [
        {"id": "e1", "source": "start", "target": "llm", "source_handle": "output"},
        {"id": "e2", "source": "llm", "target": "end", "source_handle": "output"},
    ],
}


def test_compare_identical_has_no_changes():
    assert compare(SETTINGS, GRAPH, SETTINGS, GRAPH).changes == []


def test_compare_reports_settings_fields_in_words():
    after = {**SETTINGS, "seed_message": "Hello there", "participant_allowlist": ["a@example.com"]}

    changes = {c.item: c for c in compare(SETTINGS, GRAPH, after, GRAPH).settings_changes}

    assert changes["Seed message"].before == "Hi"
    assert changes["Seed message"].after == "Hello there"
    assert changes["Participant allowlist"].before == "—"
    assert changes["Participant allowlist"].after == "a@example.com"


def test_compare_reports_node_params_nodes_and_edges():
    graph_b = {
        "nodes": [
            GRAPH["nodes"][0],
            {**GRAPH["nodes"][1], "params": {"prompt": "Be brief", "model": "m1"}},
            {"id": "tpl", "type": "template", "label": "Format", "params": {}},
            GRAPH["nodes"][2],
        ],
        "edges": [
            GRAPH["edges"][0],
            {"id": "e3", "source": "llm", "target": "tpl", "source_handle": "output"},
            {"id": "e4", "source": "tpl", "target": "end", "source_handle": "output"},
        ],
    }

    result = compare(SETTINGS, GRAPH, SETTINGS, graph_b)
    described = {(c.kind, c.item) for c in result.pipeline_changes}

    assert ("changed", "Node “Answer” (llm) · prompt") in described
    assert ("added", "Node “Format” (template)") in described
    assert ("removed", "Edge Answer [output] → End") in described
    assert ("added", "Edge Format [output] → End") in described
    assert result.settings_changes == []


def test_compare_locates_each_pipeline_change_for_the_visual_diff():
    graph_b = {
        "nodes": [
            GRAPH["nodes"][0],
            {**GRAPH["nodes"][1], "label": "Reply", "params": {"prompt": "Be brief", "model": "m1"}},
            GRAPH["nodes"][2],
        ],
        "edges": [GRAPH["edges"][0]],
    }

    located = {(c["kind"], c["node_id"], c["param"], tuple(c["edge"] or ())) for c in _dicts(GRAPH, graph_b)}

    assert located == {
        ("changed", "llm", "label", ()),
        ("changed", "llm", "prompt", ()),
        ("removed", None, None, ("llm", "output", "end")),
    }


def _dicts(graph_a, graph_b):
    return [change.as_dict() for change in compare(SETTINGS, graph_a, SETTINGS, graph_b).pipeline_changes]

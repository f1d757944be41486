"""Bulk effects of one turn are capped where the engine produces them: tags, history writes, state size."""

from __future__ import annotations

import pytest

from tenant_apps.pipelines.engine.context import InMemoryHistoryStore
from tenant_apps.pipelines.engine.limits import RunLimits, TemplateLimits
from tests.factories.pipelines import chain, code, llm


def test_ten_thousand_tags_fail_the_node_instead_of_ten_thousand_statements(run_graph):
    body = "for i in range(100):\n    for j in range(100):\n        add_message_tag(str(i * 100 + j))\nreturn 'ok'"

    result = run_graph(chain(code(body)))

    assert (result.error.node_id, result.error.code) == ("code", "pipeline.too_many_tags")
    assert "at most 20 tags" in result.error.message
    assert result.message_tags == [str(i) for i in range(20)]


def test_tags_up_to_the_limit_are_kept(run_graph):
    result = run_graph(chain(code("for i in range(20):\n    add_message_tag('t' + str(i))\nreturn 'ok'")))

    assert result.ok
    assert len(result.message_tags) == 20


@pytest.mark.parametrize("scope", ["session_state", "participant_data"])
def test_state_over_its_size_fails_the_node_that_grew_it(run_graph, scope):
    setter = "set_session_state_key" if scope == "session_state" else "set_participant_data_key"
    document = chain(code(f"{setter}('big', 'x' * 2000)\nreturn 'ok'"))
    limits = RunLimits(max_state_bytes=1000, template=TemplateLimits())

    result = run_graph(document, limits=limits, **{scope: {"kept": 1}})

    assert (result.error.node_id, result.error.code) == ("code", "pipeline.state_too_large")
    assert "the limit is 1,000" in result.error.message


def test_state_size_default_is_half_a_megabyte():
    assert RunLimits.from_settings().max_state_bytes == 512 * 1024


def test_state_size_limit_comes_from_settings(run_graph, settings):
    settings.PIPELINE_TURN_MAX_STATE_BYTES = 100

    result = run_graph(chain(code("set_session_state_key('note', 'x' * 200)\nreturn 'ok'")))

    assert result.error.code == "pipeline.state_too_large"


def test_history_writes_per_turn_are_capped(run_graph, model):
    model.default = "ok"
    nodes = [llm(f"llm{i}", history_type="node") for i in range(3)]  # two entries each: input and answer
    limits = RunLimits(max_history_writes=4, template=TemplateLimits())
    history = InMemoryHistoryStore()

    result = run_graph(chain(*nodes), history=history, limits=limits)

    assert (result.error.node_id, result.error.code) == ("llm2", "pipeline.too_many_history_writes")
    assert sum(len(entries) for entries in history.histories.values()) == 4


def test_limits_are_read_from_settings(settings):
    settings.PIPELINE_TURN_MAX_TAGS = 3
    settings.PIPELINE_TEMPLATE_MAX_OUTPUT = 7

    limits = RunLimits.from_settings()

    assert (limits.max_tags, limits.template.max_output) == (3, 7)


def test_a_run_past_its_deadline_starts_no_further_node(run_graph):
    """Where nothing can interrupt a run (a thread, a CPU-bound stretch under gevent), the turn's time limit is
    checked before every node (ADR 0065)."""
    import time

    result = run_graph(chain(code("return 'ok'")), deadline=time.monotonic() - 1)

    assert result.error.code == "pipeline.time_limit"
    assert result.node_path == ["start"]
    assert "took longer than its time limit" in result.error.message


def test_a_node_that_returns_after_the_deadline_fails_with_the_time_limit(run_graph, model):
    """A node nothing could interrupt (a thread, a C call, an alarm that came too late) and that answers after the
    turn's limit: its late answer is not the reply — the node fails with the limit, named in the error."""
    import time

    def slow(messages):
        time.sleep(0.3)
        return "far too late"

    model.replies.append(slow)

    result = run_graph(chain(llm()), deadline=time.monotonic() + 0.1, time_limit=0.1)

    assert result.error.code == "pipeline.time_limit"
    assert result.error.node_id == "llm"
    assert "took longer than its limit of 0.1 s" in result.error.message
    assert result.output == ""

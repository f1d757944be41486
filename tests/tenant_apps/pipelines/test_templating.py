"""Jinja renders are bounded in CPU and memory inside the render, and obvious excess is refused at save time."""

from __future__ import annotations

import resource

import pytest

from tenant_apps.pipelines.engine.limits import RunLimits, TemplateLimits
from tenant_apps.pipelines.engine.templating import render, template_problems
from tenant_apps.pipelines.graph import check_graph, parse_graph
from tests.factories.pipelines import chain, node

# The payloads of issue 9, as written: each is over a limit whatever the data, so saving refuses it.
OBVIOUS = [
    pytest.param(
        "{% for a in range(10**5) %}{% for b in range(10**5) %}..{% endfor %}{% endfor %}", "loops", id="nested-loops"
    ),
    pytest.param("{{ 'x'|center(400000000) }}", "larger than", id="center"),
    pytest.param("{{ '%0400000000d'|format(1) }}", "larger than", id="format-filter"),
    pytest.param("{{ '%0400000000d' % 1 }}", "larger than", id="printf-operator"),
    pytest.param("{{ '{:>400000000}'.format(1) }}", "larger than", id="str-format"),
    pytest.param("{{ ('x' * 100000)|replace('x', 'x' * 100000) }}", "larger than", id="replace"),
    pytest.param("{{ (10**1000)**1000 }}", "bits", id="big-power"),
    pytest.param("{{ 'x' * 10000000 }}", "larger than", id="string-repeat"),
    pytest.param("{{ 9 ** 99999999 }}", "bits", id="power"),
    pytest.param("{% for i in range(10000000) %}{% endfor %}", "range()", id="range"),
    pytest.param("{{ " + "9" * 5000 + " }}", "number in it is too long", id="huge-literal"),
    pytest.param("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply", id="deep-nesting"),
]


@pytest.mark.parametrize(("source", "says"), OBVIOUS)
def test_template_over_its_limits_is_refused_when_the_graph_is_saved(source, says):
    checked = check_graph(parse_graph(chain(node("t", "template", template_string=source))))

    errors = [(error.code, error.node_id, error.field) for error in checked.errors]
    assert errors == [("node.invalid_params", "t", "template_string")]
    assert says in checked.errors[0].message


@pytest.mark.parametrize(
    ("node_type", "params"),
    [
        pytest.param("send_email", {"recipient_list": "a@example.com", "subject": "s"}, id="email-body"),
        pytest.param("http_request", {"method": "POST", "url": "https://example.com/"}, id="http-body"),
    ],
)
def test_email_and_http_bodies_are_checked_the_same_way(node_type, params):
    checked = check_graph(parse_graph(chain(node("n", node_type, body="{{ 'x'|center(400000000) }}", **params))))

    assert [(error.node_id, error.field) for error in checked.errors] == [("n", "body")]


def test_checking_a_template_does_not_run_its_work():
    # Jinja folds constant filters at compile time: saving this used to build a 400 MB string (and took seconds).
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    problems = template_problems("{{ 'x'|center(400000000) }}{{ '%0400000000d'|format(1) }}")

    assert problems
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KB


# The same payloads made data-dependent (the count arrives in the input), so only the render can stop them.
AT_RUN_TIME = [
    pytest.param(
        "{% for a in range(input|int) %}{% for b in range(input|int) %}{% endfor %}{% endfor %}",
        "100000",
        "loops ran more than 100,000 times",
        id="nested-loops",
    ),
    pytest.param(
        "{% set l = range(input|int)|list %}{% for a in l %}{% for b in l %}{% endfor %}{% endfor %}",
        "100000",
        "loops ran more than",
        id="nested-loops-over-a-list",
    ),
    pytest.param("{{ 'x'|center(input|int) }}", "400000000", "larger than 1,000,000", id="center"),
    pytest.param("{{ ('%0' ~ input ~ 'd')|format(1) }}", "400000000", "larger than", id="format-filter"),
    pytest.param("{{ ('{:>' ~ input ~ '}').format(1) }}", "400000000", "larger than", id="str-format"),
    pytest.param("{{ 'x'.ljust(input|int) }}", "400000000", "larger than", id="ljust-method"),
    pytest.param(
        "{{ ('x' * (input|int))|replace('x', 'x' * (input|int)) }}", "100000", "larger than", id="replace-filter"
    ),
    pytest.param("{{ (10 ** (input|int)) ** (input|int) }}", "1000", "bits", id="big-power"),
    pytest.param(
        "{% set ns = namespace(x=10 ** (input|int)) %}{% for i in range(64) %}{% set ns.x = ns.x * ns.x %}{% endfor %}",
        "1000",
        "bits",
        id="big-products",
    ),
    pytest.param(
        "{% set ns = namespace(s=input) %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "x",
        "larger than",
        id="doubling-concat",
    ),
    pytest.param(
        "{% macro f(s, n) %}{{ f(s + s, n - 1) if n else s|length }}{% endmacro %}{{ f(input, 64) }}",
        "x",
        "larger than",
        id="doubling-macro",
    ),
    pytest.param(
        "{% set s = 'x' * 999999 %}{{ [s, s, s, s, s]|join(input) }}", ",", "larger than", id="join-of-references"
    ),
    pytest.param("{% set s = 'x' * 999999 %}{{ [s, s, s, s] ~ input }}", "x", "larger than", id="list-to-text"),
    pytest.param(
        "{% set s = 'x' * 999999 %}{% set b %}{% for i in range(input|int) %}{{ s }}{% endfor %}{% endset %}",
        "1000",
        "larger than",
        id="block-capture",
    ),
    pytest.param("{% for i in range(input|int) %}{{ 'x' * 1000 }}{% endfor %}", "2000", "rendered more", id="output"),
    pytest.param("{{ [1]|batch(input|int, 'x')|list|length }}", "400000000", "larger than", id="batch-fill"),
    pytest.param("{{ []|slice(input|int)|list|length }}", "400000000", "slice()", id="slice"),
    pytest.param("{{ range(input|int)|batch(1)|sum(start=[])|length }}", "100000", "sum()", id="sum-of-lists"),
    pytest.param("{{ range(input|int)|map('center', 1000)|list|length }}", "100000", "in all", id="allocated-total"),
]


@pytest.mark.parametrize(("source", "input_text", "says"), AT_RUN_TIME)
def test_render_over_its_limits_fails_the_node_without_using_the_memory(run_graph, source, input_text, says):
    assert not template_problems(source)  # nothing to see at save time: the sizes come from the data
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    result = run_graph(chain(node("t", "template", template_string=source)), input_text=input_text)

    assert (result.error.node_id, result.error.code) == ("t", "pipeline.template_limit")
    assert says in result.error.message
    assert result.error.message.startswith("The template was stopped: ")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KB


def test_render_is_stopped_by_its_cpu_deadline_inside_the_render(run_graph):
    # No loop or size limit in the way: only the CPU check made while rendering can end 10^8 iterations.
    limits = RunLimits(template=TemplateLimits(max_cpu_seconds=0.05, max_loop_iterations=10**9))
    source = "{% for a in range(input|int) %}{% for b in range(input|int) %}{% endfor %}{% endfor %}"

    result = run_graph(chain(node("t", "template", template_string=source)), input_text="10000", limits=limits)

    assert result.error.code == "pipeline.template_limit"
    assert "CPU time" in result.error.message


def test_email_node_body_render_is_bounded(run_graph):
    sent = []
    document = chain(
        node("mail", "send_email", recipient_list="a@example.com", subject="s", body="{{ 'x'|center(input|int) }}")
    )

    result = run_graph(document, input_text="400000000", send_email=sent.append)

    assert (result.error.code, "body" in result.error.message, sent) == ("pipeline.template_limit", True, [])


def test_limits_come_from_settings(settings):
    settings.PIPELINE_TEMPLATE_MAX_OUTPUT = 10

    with pytest.raises(Exception, match="rendered more than 10 characters"):
        render("{{ input }}", {"input": "x" * 11})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("{% for x in items %}{{ loop.index }}:{{ x|upper }} {% endfor %}", "1:A 2:B ", id="loop"),
        pytest.param("{{ items|join(', ') }}|{{ items|length }}|{{ items|first }}", "a, b|2|a", id="filters"),
        pytest.param("{{ '%05.1f'|format(3.14159) }}|{{ '{:>4}'.format(7) }}", "003.1|   7", id="formatting"),
        pytest.param("{{ 'a-b'.split('-') }}|{{ 'x'.center(5) }}|{{ 'ab'.replace('a', 'c') }}", "['a', 'b']|  x  |cb"),
        pytest.param("{{ 2 ** 10 }}|{{ 'ab' * 2 }}|{{ [1] + [2] }}|{{ 7 % 3 }}", "1024|abab|[1, 2]|1", id="operators"),
        pytest.param("{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m('a') ~ m('b') }}", "<a><b>", id="macros"),
        pytest.param(
            "{% for n in tree recursive %}{{ n.name }}{% if n.kids %}({{ loop(n.kids) }}){% endif %}{% endfor %}",
            "a(bc)",
            id="recursive-loop",
        ),
        pytest.param("{% set b %}{{ items|tojson }}{% endset %}{{ b }}", '["a", "b"]', id="block"),
        pytest.param("{{ state.copy }}|{{ state.get('copy') }}", "kept|kept", id="key-named-like-a-method"),
    ],
)
def test_ordinary_templates_render_as_before(source, expected):
    variables = {
        "items": ["a", "b"],
        "tree": [{"name": "a", "kids": [{"name": "b", "kids": []}, {"name": "c", "kids": []}]}],
        "state": {"copy": "kept"},
    }

    assert render(source, variables) == expected


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("{{ session_state.update({'a': 1}) }}", id="dict-update"),
        pytest.param("{% set l = [] %}{{ l.append(1) }}", id="list-append"),
        pytest.param("{{ 'a\tb'.expandtabs(100000000) }}", id="unlisted-method"),
        pytest.param("{{ input.__class__ }}", id="dunder"),
    ],
)
def test_template_cannot_change_state_or_call_unlisted_methods(run_graph, source):
    result = run_graph(chain(node("t", "template", template_string=source)), session_state={"a": 0})

    assert result.error.code == "pipeline.template_unsafe"
    assert result.session_state == {"a": 0}

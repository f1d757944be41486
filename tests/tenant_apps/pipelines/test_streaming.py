"""The engine's streaming (ADR 0090 §5): only the LLM node whose every outgoing edge goes to the end node streams,
through the official SDKs' streams (OpenAI-compatible and Anthropic), and the result is the same as unstreamed."""

from __future__ import annotations

import pytest

from tenant_apps.pipelines import services
from tenant_apps.pipelines.adapters import run_context
from tenant_apps.pipelines.engine.context import ReplyCancelled
from tenant_apps.pipelines.engine.executor import compile_graph
from tests.factories.pipelines import chain, edge, graph, llm, node
from tests.factories.providers import llm_provider

pytestmark = pytest.mark.django_db


class Sink:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.pieces: list[str] = []
        self.flushes = 0
        self.cancel_after = cancel_after

    def write(self, text: str) -> None:
        self.pieces.append(text)
        if self.cancel_after is not None and len(self.pieces) >= self.cancel_after:
            raise ReplyCancelled

    def flush(self) -> None:
        self.flushes += 1


def run(document, **fields):
    pipeline = services.pipeline_create_default(name="p", llm_provider_id=None, llm_model=None)
    pipeline = services.pipeline_update_graph(pipeline=pipeline, graph=document, base_revision=1)
    return services.pipeline_run(pipeline=pipeline, context=run_context(**fields))


def test_only_an_llm_node_that_feeds_the_end_node_alone_streams():
    document = graph(
        node("start", "start"),
        llm("first"),
        llm("last"),
        llm("side"),
        node("t", "template", template_string="x"),
        node("end", "end"),
        edges=[
            edge("start", "first"),
            edge("first", "last"),
            edge("first", "side"),
            edge("last", "end"),
            edge("side", "t"),
            edge("side", "end"),
            edge("t", "end"),
        ],
    )

    compiled = compile_graph(document)

    assert {compiled.steps[index].node_id for index in compiled.streaming} == {"last"}


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_the_final_llm_node_streams_through_the_sdk_and_stores_the_same_answer(team, fake_llm, catalog, api):
    provider = llm_provider(base_url=fake_llm.url if api == "anthropic" else fake_llm.openai_base_url, type=api)
    document = chain(llm("answer", llm_provider_id=provider.pk, llm_model="fake-model"))
    sink = Sink()

    streamed = run(document, input_text="one two three", reply_stream=sink)
    whole = run(document, input_text="one two three")

    assert streamed.ok, streamed.error
    assert sink.pieces == ["Echo: ", "one ", "two ", "three"]
    assert sink.flushes == 1
    assert streamed.output == whole.output == "Echo: one two three"
    assert streamed.total_usage == whole.total_usage
    assert fake_llm.requests[-2].json["stream"] is True
    assert "stream" not in fake_llm.requests[-1].json


def test_a_node_with_tools_answers_whole(team, fake_llm, catalog):
    provider = llm_provider(base_url=fake_llm.openai_base_url)
    document = chain(llm("answer", llm_provider_id=provider.pk, llm_model="fake-model", tools=["set_participant_data"]))
    sink = Sink()

    result = run(document, input_text="hi", reply_stream=sink)

    assert result.output == "Echo: hi"
    assert sink.pieces == []


def test_a_cancelled_stream_keeps_what_was_written_and_ends_the_call(team, fake_llm, catalog):
    provider = llm_provider(base_url=fake_llm.openai_base_url)
    document = chain(llm("answer", llm_provider_id=provider.pk, llm_model="fake-model"))

    result = run(document, input_text="a b c d e f", reply_stream=Sink(cancel_after=3))

    assert result.ok
    assert result.output == "Echo: a b "
    assert result.trace[1].details == {"cancelled": True}
    assert result.total_usage.output_tokens > 0

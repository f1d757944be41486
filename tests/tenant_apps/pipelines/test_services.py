"""Pipeline writes: default graph, copies and freezing, saves with revisions, restore, run, email outbox."""

from __future__ import annotations

import pytest
from django.core import mail

from tenant_apps.pipelines import emails, selectors, services
from tenant_apps.pipelines.engine.context import RunContext
from tenant_apps.pipelines.exceptions import (
    GraphShapeError,
    PipelineConflictError,
    PipelineFrozenError,
    PipelineInvalidError,
)
from tenant_apps.pipelines.graph import pipeline_validate
from tenant_apps.pipelines.models import Pipeline, PipelineEmail
from tenant_apps.pipelines.tasks import pipeline_email_send_task
from tests.factories.pipelines import chain, llm, node
from tests.fakes.scripted_chat_model import ModelDirectory, ScriptedChatModel

pytestmark = pytest.mark.django_db


def test_create_default_is_start_llm_end_and_valid(team):
    pipeline = services.pipeline_create_default(name="Bot", llm_provider_id=3, llm_model="gpt-x")

    assert [n["type"] for n in pipeline.graph["nodes"]] == ["start", "llm", "end"]
    assert pipeline.graph["nodes"][1]["params"]["llm_provider_id"] == 3
    assert pipeline_validate(graph=pipeline.graph) == []
    assert (pipeline.edit_revision, pipeline.is_frozen) == (1, False)


def test_create_default_without_provider_is_stored_with_an_error_on_the_llm_node(team):
    pipeline = services.pipeline_create_default(name="Bot", llm_provider_id=None, llm_model=None)

    errors = selectors.pipeline_errors(pipeline=pipeline)

    assert {(e.node_id, e.field) for e in errors} == {("llm", "llm_provider_id"), ("llm", "llm_model")}


def test_copy_is_a_deep_copy(team):
    original = services.pipeline_create_default(name="Bot", llm_provider_id=1, llm_model="m")

    copied = services.pipeline_copy(pipeline=original)
    copied.graph["nodes"][1]["params"]["prompt"] = "changed"
    copied.save()

    original.refresh_from_db()
    assert original.graph["nodes"][1]["params"]["prompt"] == services.DEFAULT_PROMPT
    assert (copied.pk != original.pk, copied.is_frozen) == (True, False)


def test_frozen_copy_cannot_be_updated_or_restored(team):
    working = services.pipeline_create_default(name="Bot", llm_provider_id=1, llm_model="m")
    frozen = services.pipeline_copy(pipeline=working, frozen=True)

    with pytest.raises(PipelineFrozenError) as caught:
        services.pipeline_update_graph(pipeline=frozen, graph=chain(), base_revision=frozen.edit_revision)
    with pytest.raises(PipelineFrozenError):
        services.pipeline_restore(pipeline=frozen, source=working)

    assert caught.value.code == "pipeline.frozen"
    assert caught.value.status_code == 409


def test_freezing_an_invalid_pipeline_is_refused(team):
    working = services.pipeline_create_default(name="Bot", llm_provider_id=None, llm_model=None)

    with pytest.raises(PipelineInvalidError) as caught:
        services.pipeline_copy(pipeline=working, frozen=True)

    assert caught.value.extra["errors"][0]["node_id"] == "llm"
    assert not Pipeline.objects.filter(is_frozen=True).exists()


def test_update_graph_bumps_revision_and_stores_normalised_graph_even_with_errors(team):
    pipeline = services.pipeline_create_default(name="Bot", llm_provider_id=1, llm_model="m")
    document = chain(node("t", "template", template_string="{{ oops"))
    document["nodes"][0]["selected"] = True  # editor-only noise is dropped
    document["edges"][0]["source_handle"] = None  # defaults filled in

    saved = services.pipeline_update_graph(pipeline=pipeline, graph=document, base_revision=1, name="Renamed")

    saved.refresh_from_db()
    assert (saved.edit_revision, saved.name) == (2, "Renamed")
    assert "selected" not in saved.graph["nodes"][0]
    assert saved.graph["edges"][0]["source_handle"] == "output"
    assert [e.code for e in selectors.pipeline_errors(pipeline=saved)] == ["node.invalid_params"]


def test_update_graph_with_stale_revision_conflicts(team):
    pipeline = services.pipeline_create_default(name="Bot", llm_provider_id=1, llm_model="m")
    services.pipeline_update_graph(pipeline=pipeline, graph=chain(), base_revision=1)

    with pytest.raises(PipelineConflictError) as caught:
        services.pipeline_update_graph(pipeline=pipeline, graph=chain(llm()), base_revision=1)

    assert (caught.value.code, caught.value.extra) == ("pipeline.conflict", {"edit_revision": 2})
    pipeline.refresh_from_db()
    assert pipeline.graph["nodes"][1]["type"] == "end"


def test_update_graph_refuses_a_document_that_is_not_a_graph(team):
    pipeline = services.pipeline_create_default(name="Bot", llm_provider_id=1, llm_model="m")

    with pytest.raises(GraphShapeError) as caught:
        services.pipeline_update_graph(pipeline=pipeline, graph={"nodes": [{"type": "llm"}]}, base_revision=1)

    assert caught.value.code == "pipeline.bad_graph"
    pipeline.refresh_from_db()
    assert pipeline.edit_revision == 1


def test_restore_copies_the_versions_graph_into_the_working_copy(team):
    working = services.pipeline_create_default(name="Bot", llm_provider_id=1, llm_model="m")
    version = services.pipeline_copy(pipeline=working, frozen=True)
    services.pipeline_update_graph(pipeline=working, graph=chain(), base_revision=1)

    restored = services.pipeline_restore(pipeline=working, source=version)

    assert restored.graph == version.graph
    assert restored.edit_revision == 3


def test_run_uses_the_compiled_plan_until_the_revision_changes(team, django_assert_num_queries):
    pipeline = services.pipeline_create_default(name="Bot", llm_provider_id=1, llm_model="m")
    model = ScriptedChatModel(default="hello")

    with django_assert_num_queries(0):
        first = services.pipeline_run(
            pipeline=pipeline, context=RunContext(input_text="hi", models=ModelDirectory(model))
        )
    plan = selectors.pipeline_compiled(pipeline=pipeline)
    updated = services.pipeline_update_graph(
        pipeline=pipeline, graph=chain(node("t", "template", template_string="v2")), base_revision=1
    )

    assert first.output == "hello"
    assert selectors.pipeline_compiled(pipeline=pipeline) is plan
    assert selectors.pipeline_compiled(pipeline=updated) is not plan
    assert services.pipeline_run(pipeline=updated, context=RunContext(input_text="hi")).output == "v2"


def test_run_invalid_pipeline_returns_an_error_result(team):
    pipeline = services.pipeline_create_default(name="Bot", llm_provider_id=None, llm_model=None)

    result = services.pipeline_run(pipeline=pipeline, context=RunContext(input_text="hi", participant_data={"a": 1}))

    assert (result.status, result.error.code, result.error.node_id) == ("error", "pipeline.invalid", "llm")
    assert result.participant_data == {"a": 1}


def test_email_enqueue_sends_once_on_commit(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = services.pipeline_email_enqueue(recipients=("a@example.org",), subject="S", body="B")

    assert len(callbacks) == 1
    assert email.status == PipelineEmail.Status.PENDING
    emails.pipeline_email_send(email_id=email.pk)
    emails.pipeline_email_send(email_id=email.pk)  # a redelivered task

    email.refresh_from_db()
    assert email.status == PipelineEmail.Status.SENT
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [(["a@example.org"], "S", "B")]


def test_email_task_is_on_the_pipelines_queue():
    assert pipeline_email_send_task.queue == "pipelines"


def test_llm_provider_usage_names_working_and_frozen_pipelines(team):
    working = services.pipeline_create_default(name="Uses 5", llm_provider_id=5, llm_model="m")
    services.pipeline_copy(pipeline=working, frozen=True)
    services.pipeline_create_default(name="Uses 6", llm_provider_id=6, llm_model="m")

    class Provider:
        pk = 5

    assert selectors.pipeline_llm_provider_usage(Provider()) == ["Pipeline 'Uses 5'", "Pipeline 'Uses 5' (a version)"]

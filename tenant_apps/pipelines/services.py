"""Writes to pipelines, and the entry point that runs one (ADR 0030).

Every change to ``Pipeline.graph`` goes through here and bumps ``edit_revision``: that is both the editor's
optimistic-concurrency token and the key of the compiled-pipeline cache (``selectors.pipeline_compiled``).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from tenant_apps.pipelines import selectors, tasks
from tenant_apps.pipelines.engine.context import RunContext
from tenant_apps.pipelines.engine.result import NodeFailure, RunResult
from tenant_apps.pipelines.exceptions import (
    GraphShapeError,
    PipelineConflictError,
    PipelineFrozenError,
    PipelineInvalidError,
)
from tenant_apps.pipelines.graph import parse_graph, pipeline_validate
from tenant_apps.pipelines.models import Pipeline, PipelineEmail

logger = logging.getLogger(__name__)

DEFAULT_PROMPT = "You are a helpful assistant. Answer briefly and kindly."


def default_graph(
    *,
    llm_provider_id: int | None,
    llm_model: str | None,
    prompt: str | None = None,
    temperature: float | None = None,
) -> dict[str, Any]:
    """start -> LLM -> end. Without a provider the LLM node's params are incomplete: the editor shows that error."""
    llm_params: dict[str, Any] = {"prompt": DEFAULT_PROMPT if prompt is None else prompt}
    if llm_provider_id is not None:
        llm_params["llm_provider_id"] = llm_provider_id
    if llm_model:
        llm_params["llm_model"] = llm_model
    if temperature is not None:
        llm_params["temperature"] = temperature
    return {
        "nodes": [
            {"id": "start", "type": "start", "label": "Start", "params": {}, "position": {"x": 0, "y": 0}},
            {"id": "llm", "type": "llm", "label": "LLM", "params": llm_params, "position": {"x": 360, "y": 0}},
            {"id": "end", "type": "end", "label": "End", "params": {}, "position": {"x": 720, "y": 0}},
        ],
        "edges": [
            {
                "id": "start-llm",
                "source": "start",
                "target": "llm",
                "source_handle": "output",
                "target_handle": "input",
            },
            {"id": "llm-end", "source": "llm", "target": "end", "source_handle": "output", "target_handle": "input"},
        ],
    }


@transaction.atomic
def pipeline_create_default(*, name: str, llm_provider_id: int | None, llm_model: str | None) -> Pipeline:
    """A new pipeline with the default graph (what a new chatbot starts from)."""
    return pipeline_create(name=name, graph=default_graph(llm_provider_id=llm_provider_id, llm_model=llm_model))


@transaction.atomic
def pipeline_create(*, name: str, graph: Any) -> Pipeline:
    """A new working pipeline with ``graph`` (which must have the graph shape; validation errors are allowed)."""
    try:
        spec = parse_graph(graph)
    except ValidationError as exc:
        raise GraphShapeError(code="pipeline.bad_graph", message="The document is not a pipeline graph.") from exc
    return Pipeline.objects.create(name=name[:200], graph=spec.model_dump(mode="json"))


@transaction.atomic
def pipeline_copy(*, pipeline: Pipeline, name: str | None = None, frozen: bool = False) -> Pipeline:
    """A new row with a deep copy of the graph. ``frozen=True`` makes the immutable copy a version points at.

    A frozen copy must be runnable, so freezing a graph with errors raises ``PipelineInvalidError``.
    """
    graph = copy.deepcopy(pipeline.graph)
    if frozen:
        errors = pipeline_validate(graph=graph)
        if errors:
            raise PipelineInvalidError(
                code="pipeline.invalid",
                message="Fix the pipeline's errors before creating a version.",
                extra={"errors": [error.as_dict() for error in errors]},
            )
    return Pipeline.objects.create(name=(name or pipeline.name)[:200], graph=graph, is_frozen=frozen)


@transaction.atomic
def pipeline_update_graph(*, pipeline: Pipeline, graph: Any, base_revision: int, name: str | None = None) -> Pipeline:
    """Save the editor's graph if nobody saved since ``base_revision``.

    The graph is stored even when it has validation errors (work in progress; the editor shows them next to the
    nodes), but it must be a graph: a document without the nodes/edges shape is refused (``pipeline.bad_graph``).
    Raises ``PipelineFrozenError`` for a version's pipeline, ``PipelineConflictError`` on a stale revision.
    """
    locked = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    if locked.is_frozen:
        raise PipelineFrozenError(
            code="pipeline.frozen", message="This pipeline belongs to a version and cannot change."
        )
    if locked.edit_revision != base_revision:
        raise PipelineConflictError(
            code="pipeline.conflict",
            message="Someone else saved this pipeline since you opened it. Reload to see their changes.",
            extra={"edit_revision": locked.edit_revision},
        )
    try:
        spec = parse_graph(graph)
    except ValidationError as exc:
        raise GraphShapeError(
            code="pipeline.bad_graph",
            message="The document is not a pipeline graph.",
            extra={"errors": exc.errors(include_url=False, include_context=False, include_input=False)},
        ) from exc
    locked.graph = spec.model_dump(mode="json")
    locked.edit_revision += 1
    fields = ["graph", "edit_revision", "updated_at"]
    if name is not None and name.strip():
        locked.name = name.strip()[:200]
        fields.append("name")
    locked.save(update_fields=fields)
    return locked


@transaction.atomic
def pipeline_restore(*, pipeline: Pipeline, source: Pipeline) -> Pipeline:
    """Replace a working pipeline's graph with a copy of ``source``'s (revert to a version)."""
    locked = Pipeline.objects.select_for_update().get(pk=pipeline.pk)
    if locked.is_frozen:
        raise PipelineFrozenError(
            code="pipeline.frozen", message="This pipeline belongs to a version and cannot change."
        )
    locked.graph = copy.deepcopy(source.graph)
    locked.edit_revision += 1
    locked.save(update_fields=["graph", "edit_revision", "updated_at"])
    return locked


def pipeline_run(*, pipeline: Pipeline, context: RunContext) -> RunResult:
    """Run one turn. Never raises for a node failure or an invalid graph: the result says what went wrong.

    State is not persisted here: the caller stores ``result.participant_data`` / ``session_state`` (and the
    history store's buffered writes) in its end-of-turn transaction, and only when ``result.ok``.
    """
    try:
        compiled = selectors.pipeline_compiled(pipeline=pipeline)
    except PipelineInvalidError as exc:
        errors = exc.extra.get("errors") or []
        first = errors[0] if errors and isinstance(errors, list) else {}
        failure = NodeFailure(
            node_id=str(first.get("node_id") or ""),
            node_type="",
            label="",
            code=exc.code,
            message=str(first.get("message") or exc.message),
        )
        return RunResult(
            status="error",
            output="",
            error=failure,
            trace=[],
            participant_data=dict(context.participant_data),
            session_state=dict(context.session_state),
            temp_state={},
            participant_data_diff=[],
            session_state_diff=[],
            end_session=False,
            message_tags=[],
            usage=[],
            duration_ms=0.0,
        )
    return compiled.run(context)


# --- email ------------------------------------------------------------------------------------------------------


def pipeline_email_enqueue(*, recipients: tuple[str, ...] | list[str], subject: str, body: str) -> PipelineEmail:
    """Record an email and send it from the pipelines queue once the surrounding transaction commits."""
    email = PipelineEmail.objects.create(recipients=list(recipients), subject=subject[:500], body=body)
    transaction.on_commit(lambda: tasks.pipeline_email_send_task.delay(email_id=email.pk))
    return email

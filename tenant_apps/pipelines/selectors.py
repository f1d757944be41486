"""Reads: pipelines, their errors, the compiled run plan (cached), and the node-type catalog for the editor."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

from shared_apps.core.db import connection
from tenant_apps.pipelines.engine.executor import CompiledPipeline, compile_graph
from tenant_apps.pipelines.exceptions import PipelineNotFoundError
from tenant_apps.pipelines.graph import GraphError, pipeline_validate
from tenant_apps.pipelines.models import Pipeline
from tenant_apps.pipelines.nodes import NODE_TYPES

PALETTE_ORDER = [
    "start",
    "end",
    "llm",
    "llm_router",
    "static_router",
    "template",
    "code",
    "extract_structured_data",
    "http_request",
    "send_email",
]

_COMPILED_CACHE_SIZE = 256
_compiled: OrderedDict[tuple[str, int, int], CompiledPipeline] = OrderedDict()
_compiled_lock = threading.Lock()


def pipeline_get(*, pipeline_id: int) -> Pipeline:
    pipeline = Pipeline.objects.filter(pk=pipeline_id).first()  # no team filter: the schema is the team
    if pipeline is None:
        raise PipelineNotFoundError(code="pipeline.not_found", message="There is no such pipeline.")
    return pipeline


def pipeline_errors(*, pipeline: Pipeline) -> list[GraphError]:
    return pipeline_validate(graph=pipeline.graph)


def pipeline_compiled(*, pipeline: Pipeline) -> CompiledPipeline:
    """The run plan for this revision of the graph, compiled once per process.

    Keyed by (schema, id, edit_revision): every graph write bumps the revision and frozen copies never change, so
    an entry can never be stale. Raises ``PipelineInvalidError`` for a graph with errors.
    """
    key = (str(connection.schema_name), pipeline.pk, pipeline.edit_revision)
    with _compiled_lock:
        plan = _compiled.get(key)
        if plan is not None:
            _compiled.move_to_end(key)
            return plan
    plan = compile_graph(pipeline.graph)
    with _compiled_lock:
        _compiled[key] = plan
        while len(_compiled) > _COMPILED_CACHE_SIZE:
            _compiled.popitem(last=False)
    return plan


@lru_cache(maxsize=1)
def node_type_catalog() -> list[dict[str, Any]]:
    """What the editor needs to draw palettes and forms: one entry per node type, with its params JSON Schema.

    ``schema`` is Pydantic's JSON Schema of the params model; each property carries its ``ui:*`` hints
    (``ui:label``, ``ui:widget``, ``ui:order``, ``ui:help``, ``ui:optionsSource``, ``ui:visibleWhen``,
    ``ui:enumLabels``). ``outputs`` says how output handles are named (fixed, or one per keyword).
    """
    order = {name: index for index, name in enumerate(PALETTE_ORDER)}
    catalog = []
    for name, node_type in sorted(NODE_TYPES.items(), key=lambda item: order.get(item[0], len(order))):
        model = node_type.params_model
        defaults = {
            field: info.get_default(call_default_factory=True)
            for field, info in model.model_fields.items()
            if not info.is_required()
        }
        catalog.append(
            {
                "type": name,
                "label": node_type.label,
                "description": node_type.description,
                "icon": node_type.icon,
                "can_add": node_type.can_add,
                "can_delete": node_type.can_delete,
                "is_router": node_type.is_router,
                "inputs": node_type.input_handles(),
                "outputs": node_type.outputs_description(),
                "schema": model.model_json_schema(),
                "defaults": defaults,
            }
        )
    return catalog


# What the prompt and template editors offer to insert, per ``ui:widget``. Prompts take ``{name}`` placeholders
# (``engine.prompting``), templates are Jinja2 (``engine.templating``); the validators refuse anything else.
EDITOR_VARIABLES: dict[str, list[dict[str, str]]] = {
    "prompt_editor": [
        {"insert": "{participant_data}", "label": "participant_data", "help": "Everything known about the participant"},
        {"insert": "{session_state.key}", "label": "session_state.<key>", "help": "A value kept for this session"},
        {"insert": "{temp_state.key}", "label": "temp_state.<key>", "help": "A value set earlier in this run"},
        {"insert": "{current_datetime}", "label": "current_datetime", "help": "The date and time of the turn"},
    ],
    "jinja_template": [
        {"insert": "{{ input }}", "label": "input", "help": "This node's input"},
        {"insert": "{{ node_inputs }}", "label": "node_inputs", "help": "Every input that reached this node"},
        {"insert": "{{ node_outputs }}", "label": "node_outputs", "help": "Earlier nodes' outputs, by node id"},
        {"insert": "{{ temp_state.key }}", "label": "temp_state", "help": "Values set earlier in this run"},
        {"insert": "{{ session_state.key }}", "label": "session_state", "help": "Values kept for this session"},
        {"insert": "{{ participant_data.key }}", "label": "participant_data", "help": "What is known about them"},
        {"insert": "{{ participant_details.name }}", "label": "participant_details", "help": "Name, identifier"},
    ],
}


def node_options() -> dict[str, Any]:
    """The values behind ``ui:optionsSource`` hints: ``llm_providers``, each with its ``models``.

    Names and ids only: never a credential (the provider's config and secrets are not read here).
    """
    from tenant_apps.providers.selectors import llm_model_options, llm_provider_list

    providers = []
    for provider in llm_provider_list():
        models = [
            {
                "name": option.name,
                "label": option.label,
                "deprecated": option.deprecated,
                "supports_tools": option.supports_tools,
                "is_default": option.is_default,
            }
            for option in llm_model_options(provider=provider)
        ]
        providers.append({"id": provider.pk, "name": provider.name, "type": provider.type, "models": models})
    return {"llm_providers": providers}


def pipeline_llm_provider_usage(provider: Any) -> list[str]:
    """Names of the pipelines whose nodes use this LLM provider (working copies and versions).

    For the providers app's delete guard (``PROVIDER_USAGE_CHECKS``): a provider a version still runs on must not
    disappear. One JSON containment query (no index needed: a team has few pipelines).
    """
    used = Pipeline.objects.filter(graph__contains={"nodes": [{"params": {"llm_provider_id": provider.pk}}]})
    return [
        f"Pipeline {name!r}" + (" (a version)" if frozen else "")
        for name, frozen in used.order_by("name", "id").values_list("name", "is_frozen")
    ]

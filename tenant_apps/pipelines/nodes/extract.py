"""Extract structured data from the input with a model's structured output.

``data_schema`` maps each field to a description (a string) or to a JSON Schema fragment for that field. The
result is the node's output as JSON, or is merged into participant data (optionally under one key).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, field_validator

from tenant_apps.pipelines.engine.llm_calls import chat_with_tools, parse_json_object
from tenant_apps.pipelines.engine.prompting import render_prompt
from tenant_apps.pipelines.engine.state import NodeError, NodeInput, NodeOutcome, RunState
from tenant_apps.pipelines.nodes.base import NodeType, register_node, ui
from tenant_apps.pipelines.nodes.llm_common import ModelParams, PromptParams
from tenant_apps.providers.llm.types import Message

_JSON_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}

INSTRUCTIONS = (
    "Extract the following fields from the user's message. Use null for a field the message does not mention; "
    "never invent values. Answer with a JSON object only."
)


class ExtractParams(ModelParams, PromptParams):
    data_schema: dict[str, str | dict[str, Any]] = Field(
        min_length=1,
        json_schema_extra=ui(
            "Fields to extract",
            widget="json_schema_fields",
            order=20,
            help='{"name": "the participant\'s first name", "age": {"type": "integer"}}',
        ),
    )
    target: Literal["output", "participant_data"] = Field(
        "output",
        json_schema_extra=ui(
            "Put the result in",
            order=21,
            enumLabels={"output": "The node's output (JSON)", "participant_data": "Participant data"},
        ),
    )
    key_name: str = Field(
        "",
        max_length=100,
        pattern=r"^[A-Za-z0-9_\-]*$",
        json_schema_extra=ui(
            "Under the key",
            order=22,
            help="Leave empty to merge the fields at the top level of participant data.",
            visible_when={"field": "target", "equals": "participant_data"},
        ),
    )

    @field_validator("data_schema")
    @classmethod
    def _fields_valid(cls, value: dict[str, str | dict[str, Any]]) -> dict[str, str | dict[str, Any]]:
        if len(value) > 100:
            raise ValueError("At most 100 fields.")
        for name, spec in value.items():
            if not name.strip() or len(name) > 100:
                raise ValueError("Field names must be 1-100 characters.")
            if isinstance(spec, dict):
                kind = spec.get("type")
                kinds = kind if isinstance(kind, list) else [kind]
                if not kinds or any(k not in _JSON_TYPES for k in kinds):
                    raise ValueError(f"Field {name!r} needs a JSON type (one of {', '.join(sorted(_JSON_TYPES))}).")
        return value

    def json_schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for name, spec in self.data_schema.items():
            if isinstance(spec, str):
                properties[name] = {"type": ["string", "null"], "description": spec}
            else:
                kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
                properties[name] = {**spec, "type": sorted(set(kinds) | {"null"})}
        return {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        }


@register_node
class ExtractStructuredDataNode(NodeType[ExtractParams]):
    type_name = "extract_structured_data"
    label = "Extract structured data"
    description = "Pulls named fields out of the message as JSON, or into participant data."
    params_model = ExtractParams
    icon = "table"
    writes_state = True

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        params = self.params
        model = params.resolve_model(state)
        schema = params.json_schema()
        system = INSTRUCTIONS + "\n\nFields:\n" + json.dumps(schema["properties"], ensure_ascii=False)
        extra = render_prompt(params.prompt, state)
        if extra:
            system += "\n\n" + extra
        if params.target == "participant_data":
            known = state.participant_data.get(params.key_name) if params.key_name else state.participant_data
            if known:
                system += "\n\nWhat we already know (keep it unless the message changes it):\n" + json.dumps(
                    known, ensure_ascii=False, default=str
                )
        loop = chat_with_tools(
            model,
            messages=[Message(role="system", content=system), Message(role="user", content=node_input.text)],
            params=params.chat_params(json_schema=schema),
        )
        state.record_usage(provider_id=params.llm_provider_id, model=params.llm_model, usage=loop.usage, calls=1)
        parsed = parse_json_object(loop.result.text)
        if parsed is None:
            raise NodeError(
                code="pipeline.extract_invalid_output", message="The model did not answer with a JSON object."
            )
        data = {name: parsed.get(name) for name in params.data_schema}
        if params.target == "participant_data":
            found = {name: value for name, value in data.items() if value is not None}
            if params.key_name:
                current = state.participant_data.get(params.key_name)
                merged = {**current, **found} if isinstance(current, dict) else found
                state.participant_data[params.key_name] = merged
            else:
                state.participant_data.update(found)
        return NodeOutcome(output=json.dumps(data, ensure_ascii=False), usage=loop.usage, model=params.llm_model)

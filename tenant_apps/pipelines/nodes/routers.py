"""Routers take exactly one of their outputs per run: one output handle per keyword, plus a default.

Handles are ``output_<i>`` for the i-th keyword, so renaming a keyword keeps its wiring. A router passes its
input through unchanged to the branch it selects.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from tenant_apps.pipelines.engine.context import HistoryEntry
from tenant_apps.pipelines.engine.llm_calls import chat_with_tools, parse_json_object
from tenant_apps.pipelines.engine.prompting import render_prompt
from tenant_apps.pipelines.engine.state import NodeInput, NodeOutcome, RunState, dotted_get
from tenant_apps.pipelines.nodes.base import NodeParams, NodeType, register_node, ui
from tenant_apps.pipelines.nodes.llm_common import ModelParams, PromptParams, RouterHistoryParams, load_history
from tenant_apps.providers.llm.types import Message

MAX_KEYWORDS = 20


def handle_for(index: int) -> str:
    return f"output_{index}"


class KeywordParams(NodeParams):
    keywords: list[str] = Field(
        min_length=1, max_length=MAX_KEYWORDS, json_schema_extra=ui("Routes", widget="keywords", order=20)
    )
    default_keyword_index: int = Field(0, ge=0, json_schema_extra=ui("Default route", widget="keyword_index", order=21))
    tag_output_message: bool = Field(
        False, json_schema_extra=ui("Tag the reply with the route taken", widget="toggle", order=22)
    )

    @field_validator("keywords")
    @classmethod
    def _clean_keywords(cls, value: list[str]) -> list[str]:
        cleaned = [keyword.strip() for keyword in value]
        if any(not keyword for keyword in cleaned):
            raise ValueError("Routes cannot be empty.")
        if any(len(keyword) > 100 for keyword in cleaned):
            raise ValueError("Routes are at most 100 characters.")
        folded = [keyword.casefold() for keyword in cleaned]
        duplicates = sorted({keyword for keyword in cleaned if folded.count(keyword.casefold()) > 1})
        if duplicates:
            raise ValueError(f"Routes must be unique (ignoring case): {', '.join(duplicates)}.")
        return cleaned

    @field_validator("default_keyword_index")
    @classmethod
    def _default_exists(cls, value: int, info: ValidationInfo) -> int:
        keywords = info.data.get("keywords")
        if keywords is not None and value >= len(keywords):
            raise ValueError("The default route must be one of the routes.")
        return value

    def match(self, answer: str) -> int | None:
        folded = answer.strip().casefold()
        for index, keyword in enumerate(self.keywords):
            if keyword.casefold() == folded:
                return index
        return None


class _Router(NodeType[Any]):
    is_router = True

    @classmethod
    def output_handles(cls, params: Any) -> list[str]:
        return [handle_for(index) for index in range(len(params.keywords))]

    @classmethod
    def outputs_description(cls) -> dict[str, Any]:
        return {"kind": "keywords", "param": "keywords", "handle_prefix": "output_"}

    def _routed(self, node_input: NodeInput, state: RunState, index: int, **more: Any) -> NodeOutcome:
        keyword = self.params.keywords[index]
        if self.params.tag_output_message:
            state.add_message_tag(f"{self.node_label}:{keyword}")
        return NodeOutcome(output=node_input.text, route=handle_for(index), route_keyword=keyword, **more)


class LlmRouterParams(ModelParams, PromptParams, KeywordParams, RouterHistoryParams):
    pass


@register_node
class LlmRouterNode(_Router):
    """Asks the model for one keyword with structured output; anything else takes the default route."""

    type_name = "llm_router"
    label = "LLM router"
    description = "Lets a language model pick the branch: it must answer with one of the route keywords."
    params_model = LlmRouterParams
    icon = "split"

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        params: LlmRouterParams = self.params
        model = params.resolve_model(state)
        choices = ", ".join(params.keywords)
        system = render_prompt(params.prompt, state)
        system = (
            f"{system}\n\nAnswer with exactly one of these keywords: {choices}."
            if system
            else (f"Classify the message. Answer with exactly one of these keywords: {choices}.")
        )
        key, history = load_history(
            params,
            node_id=self.node_id,
            state=state,
            model=model,
            model_name=params.llm_model,
            fixed_text=[system, node_input.text],
        )
        messages = [Message(role="system", content=system)]
        if history is not None:
            messages.extend(history.messages)
        messages.append(Message(role="user", content=node_input.text))
        schema = {
            "type": "object",
            "properties": {"route": {"type": "string", "enum": list(params.keywords)}},
            "required": ["route"],
            "additionalProperties": False,
        }
        loop = chat_with_tools(model, messages=messages, params=params.chat_params(json_schema=schema))
        state.record_usage(provider_id=params.llm_provider_id, model=params.llm_model, usage=loop.usage, calls=1)
        answer = loop.result.text
        index = self._answer_index(params, answer)
        details = None
        if index is None:
            index = params.default_keyword_index
            details = {"fallback": "The model's answer was not one of the routes.", "answer": answer[:500]}
        if key is not None:
            state.append_history(
                key,
                [
                    HistoryEntry(role="user", content=node_input.text),
                    HistoryEntry(role="assistant", content=params.keywords[index]),
                ],
            )
        return self._routed(node_input, state, index, usage=loop.usage, model=params.llm_model, details=details)

    @staticmethod
    def _answer_index(params: LlmRouterParams, answer: str) -> int | None:
        parsed = parse_json_object(answer)
        if parsed is not None:
            route = parsed.get("route")
            return params.match(route) if isinstance(route, str) else None
        return params.match(answer.strip().strip("\"'.`"))


class StaticRouterParams(KeywordParams):
    data_source: Literal["participant_data", "session_state", "temp_state"] = Field(
        "participant_data",
        json_schema_extra=ui(
            "Route on",
            order=0,
            enumLabels={
                "participant_data": "Participant data",
                "session_state": "Session state",
                "temp_state": "Temporary state",
            },
        ),
    )
    route_key: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$",
        json_schema_extra=ui("Key", order=1, help="A key such as 'language' or 'profile.country'."),
    )


@register_node
class StaticRouterNode(_Router):
    """Routes on a state value: the route whose keyword equals the value (ignoring case), else the default."""

    type_name = "static_router"
    label = "Static router"
    description = "Picks the branch from a value in participant data, session state or temporary state."
    params_model = StaticRouterParams
    icon = "signpost"

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        params: StaticRouterParams = self.params
        value = dotted_get(state.scope(params.data_source), params.route_key)
        text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
        index = params.match(text)
        if index is None:
            return self._routed(node_input, state, params.default_keyword_index, details={"value": text[:200]})
        return self._routed(node_input, state, index)

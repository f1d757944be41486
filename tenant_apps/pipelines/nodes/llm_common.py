"""Params and helpers shared by the nodes that call a model (LLM, LLM router, extract structured data)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from tenant_apps.pipelines.engine.context import HistoryKey
from tenant_apps.pipelines.engine.history import PreparedHistory, prepare_history
from tenant_apps.pipelines.engine.prompting import prompt_errors
from tenant_apps.pipelines.engine.state import RunState
from tenant_apps.pipelines.nodes.base import NodeParams, ui
from tenant_apps.providers.llm.types import ChatModel, ChatParams

HistoryType = Literal["none", "global", "node", "named"]
HistoryMode = Literal["summarize", "truncate_tokens", "max_history_length"]


class ModelParams(NodeParams):
    llm_provider_id: int = Field(
        ge=1, json_schema_extra=ui("Provider", widget="llm_provider_model", options_source="llm_providers", order=0)
    )
    llm_model: str = Field(
        min_length=1,
        max_length=200,
        json_schema_extra=ui("Model", widget="hidden", options_source="llm_providers.models"),
    )
    temperature: float | None = Field(None, ge=0, le=2, json_schema_extra=ui("Temperature", order=90))
    max_tokens: int | None = Field(None, ge=1, le=200_000, json_schema_extra=ui("Max output tokens", order=91))

    def chat_params(self, *, json_schema: Mapping[str, Any] | None = None) -> ChatParams:
        return ChatParams(temperature=self.temperature, max_tokens=self.max_tokens, json_schema=json_schema)

    def resolve_model(self, state: RunState) -> ChatModel:
        return state.model(self.llm_provider_id, self.llm_model)


class PromptParams(NodeParams):
    prompt: str = Field(
        "",
        max_length=50_000,
        json_schema_extra=ui(
            "Prompt",
            widget="prompt_editor",
            order=10,
            help="Variables: {participant_data}, {session_state.key}, {temp_state.key}, {current_datetime}.",
        ),
    )

    @field_validator("prompt")
    @classmethod
    def _variables_known(cls, value: str) -> str:
        errors = prompt_errors(value)
        if errors:
            raise ValueError(" ".join(errors))
        return value


_HISTORY_LABELS = {
    "none": "No history",
    "global": "The conversation",
    "node": "This node's own history",
    "named": "A named history",
}


class HistoryParams(NodeParams):
    history_type: HistoryType = Field(
        "global", json_schema_extra=ui("History", widget="history", order=50, enumLabels=_HISTORY_LABELS)
    )
    history_name: str = Field(
        "",
        max_length=100,
        validate_default=True,
        json_schema_extra=ui("History name", order=51, visible_when={"field": "history_type", "equals": "named"}),
    )
    history_mode: HistoryMode = Field(
        "summarize",
        json_schema_extra=ui(
            "When the history gets long",
            order=52,
            visible_when={"field": "history_type", "not_equals": "none"},
            enumLabels={
                "summarize": "Summarise older messages",
                "truncate_tokens": "Drop older messages beyond a token budget",
                "max_history_length": "Keep the last N messages",
            },
        ),
    )
    user_max_token_limit: int = Field(
        8192,
        ge=64,
        le=2_000_000,
        json_schema_extra=ui(
            "Token budget", order=53, visible_when={"field": "history_mode", "in": ["summarize", "truncate_tokens"]}
        ),
    )
    max_history_length: int = Field(
        10,
        ge=0,
        le=1000,
        json_schema_extra=ui(
            "Messages to keep", order=54, visible_when={"field": "history_mode", "equals": "max_history_length"}
        ),
    )

    @field_validator("history_name")
    @classmethod
    def _named_needs_a_name(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("history_type") == "named" and not value.strip():
            raise ValueError("Give the shared history a name.")
        return value.strip()

    def history_key(self, node_id: str) -> HistoryKey | None:
        if self.history_type == "none":
            return None
        if self.history_type == "global":
            return HistoryKey("global")
        if self.history_type == "node":
            return HistoryKey("node", node_id)
        return HistoryKey("named", self.history_name)


class RouterHistoryParams(HistoryParams):
    """Routers classify one message; by default they see no history."""

    history_type: HistoryType = Field(
        "none", json_schema_extra=ui("History", widget="history", order=50, enumLabels=_HISTORY_LABELS)
    )


def load_history(
    params: HistoryParams, *, node_id: str, state: RunState, model: ChatModel, model_name: str, fixed_text: list[str]
) -> tuple[HistoryKey | None, PreparedHistory | None]:
    """The history a model node sends this turn (compressed per its params), or (None, None) without history."""
    key = params.history_key(node_id)
    if key is None:
        return None, None

    def count(text: str) -> int:
        return state.ctx.count_tokens(text, model_name)

    prepared = prepare_history(
        store=state.ctx.history,
        key=key,
        mode=params.history_mode,
        token_limit=params.user_max_token_limit,
        max_messages=params.max_history_length,
        fixed_tokens=sum(count(text) for text in fixed_text),
        count=count,
        model=model,
    )
    return key, prepared

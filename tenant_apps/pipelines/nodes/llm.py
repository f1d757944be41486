"""The LLM node: system prompt with state variables, conversation history, optional tools."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from tenant_apps.pipelines.engine.context import HistoryEntry
from tenant_apps.pipelines.engine.llm_calls import chat_with_tools, stream_reply
from tenant_apps.pipelines.engine.prompting import render_prompt
from tenant_apps.pipelines.engine.state import NodeInput, NodeOutcome, RunState
from tenant_apps.pipelines.nodes.base import NodeType, register_node, ui
from tenant_apps.pipelines.nodes.llm_common import HistoryParams, ModelParams, PromptParams, load_history
from tenant_apps.pipelines.nodes.llm_tools import TOOL_LABELS, ToolName, tools_for
from tenant_apps.providers.llm.types import Message


class LlmParams(ModelParams, PromptParams, HistoryParams):
    tools: list[ToolName] = Field(
        default_factory=list, json_schema_extra=ui("Tools", widget="multiselect", order=60, enumLabels=TOOL_LABELS)
    )
    tag: str = Field("", max_length=100, json_schema_extra=ui("Tag the reply with", order=70))

    @field_validator("tools")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("Each tool can be chosen once.")
        return value


SUMMARY_HEADING = "\n\nSummary of the earlier conversation:\n"


@register_node
class LlmNode(NodeType[LlmParams]):
    """When its answer is the final reply and it has no tools, it streams (the executor hands it the run's
    ``reply_stream``); stored output, usage and trace are the same either way."""

    type_name = "llm"
    label = "LLM"
    description = "Answers with a language model, using a prompt, the conversation history and tools."
    params_model = LlmParams
    icon = "sparkles"
    writes_state = True

    def changes_state(self) -> bool:
        return bool(self.params.tools)  # only its tools write state

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        params = self.params
        model = params.resolve_model(state)
        system = render_prompt(params.prompt, state)
        key, history = load_history(
            params,
            node_id=self.node_id,
            state=state,
            model=model,
            model_name=params.llm_model,
            fixed_text=[system, node_input.text],
        )
        details: dict[str, Any] = {}
        usage_total = None
        if history is not None:
            if history.summary:
                system += SUMMARY_HEADING + history.summary
            if history.summary_usage is not None:
                state.record_usage(
                    provider_id=params.llm_provider_id, model=params.llm_model, usage=history.summary_usage
                )
                usage_total = history.summary_usage
            if history.dropped or history.summarized:
                details["history"] = {"dropped": history.dropped, "summarized": history.summarized}

        messages = [Message(role="system", content=system)] if system else []
        if history is not None:
            messages.extend(history.messages)
        messages.append(Message(role="user", content=node_input.text))

        specs, handler = tools_for(params.tools, state) if params.tools else ([], None)
        if state.reply_stream is not None and not specs:  # this node's answer is the reply: stream it (ADR 0090)
            loop = stream_reply(model, messages=messages, sink=state.reply_stream, params=params.chat_params())
            if loop.cancelled:
                details["cancelled"] = True
        else:
            loop = chat_with_tools(model, messages=messages, tools=specs, handler=handler, params=params.chat_params())
        state.record_usage(
            provider_id=params.llm_provider_id, model=params.llm_model, usage=loop.usage, calls=loop.calls
        )
        reply = loop.result.text
        if key is not None:
            state.append_history(
                key, [HistoryEntry(role="user", content=node_input.text), HistoryEntry(role="assistant", content=reply)]
            )
        if params.tag:
            state.add_message_tag(params.tag)
        if loop.tool_calls:
            details["tool_calls"] = loop.tool_calls
        return NodeOutcome(
            output=reply,
            usage=loop.usage if usage_total is None else usage_total + loop.usage,
            model=params.llm_model,
            details=details or None,
        )

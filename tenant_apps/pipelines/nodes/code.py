"""The Python code node: ``def main(input, **kwargs)`` run by the sandbox in a separate, limited process.

The node sends copies of the three state scopes; the sandbox returns them changed (or not) with the intents the
code raised (end session, message tags). Nothing is shared: the run's state is replaced by what came back.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from tenant_apps.pipelines.engine.state import NodeError, NodeInput, NodeOutcome, RunState
from tenant_apps.pipelines.nodes.base import NodeParams, NodeType, register_node, ui
from tenant_apps.pipelines.sandbox.runner import CodeRequest
from tenant_apps.pipelines.sandbox.zygote import code_problems

DEFAULT_CODE = """def main(input: str, **kwargs) -> str:
    return input
"""

CODE_HELP = (
    "Return the node's output. Imports: json, re, datetime, math, random, time. Helpers: get_participant_data(), "
    "set_participant_data(data), get/set_participant_data_key(key[, value]), get/set_session_state_key, "
    "get/set_temp_state_key, end_session(), add_message_tag(tag). print() goes to the trace."
)


class CodeParams(NodeParams):
    code: str = Field(
        DEFAULT_CODE,
        min_length=1,
        max_length=50_000,
        json_schema_extra=ui("Code", widget="code", order=0, help=CODE_HELP),
    )

    @field_validator("code")
    @classmethod
    def _restricted(cls, value: str) -> str:
        problems = code_problems(value)
        if problems:
            raise ValueError(" ".join(problems))
        return value


@register_node
class CodeNode(NodeType[CodeParams]):
    type_name = "code"
    label = "Python code"
    description = "Runs your Python function main(input) in a sandbox, with helpers to read and change state."
    params_model = CodeParams
    icon = "code"
    writes_state = True

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        result = state.ctx.code_runner().run(
            CodeRequest(
                code=self.params.code,
                input=node_input.text,
                participant_data=state.participant_data,
                session_state=state.session_state,
                temp_state=state.temp_state,
            )
        )
        if not result.ok:
            raise NodeError(
                code=result.error_code, message=result.error_message, extra={"console": result.console[:4000]}
            )
        state.participant_data = result.participant_data
        state.session_state = result.session_state
        state.temp_state = result.temp_state
        if result.end_session:
            state.end_session = True
        for tag in result.message_tags:
            state.add_message_tag(tag)
        return NodeOutcome(output=result.output, details={"console": result.console} if result.console else None)

"""Render a sandboxed Jinja2 template over the run's input and state."""

from __future__ import annotations

from pydantic import Field, field_validator

from tenant_apps.pipelines.engine.state import NodeInput, NodeOutcome, RunState
from tenant_apps.pipelines.engine.templating import render, template_problems, template_vars
from tenant_apps.pipelines.nodes.base import NodeParams, NodeType, register_node, ui

TEMPLATE_HELP = (
    "Jinja2. Variables: input, node_inputs, node_outputs, temp_state, session_state, participant_data, "
    "participant_details. Unknown variables are errors."
)


def check_template(value: str) -> str:
    """Params validator of every Jinja field: syntax, and constant parts over the render limits (ADR 0060)."""
    problems = template_problems(value)
    if problems:
        raise ValueError(" ".join(problems))
    return value


class TemplateParams(NodeParams):
    template_string: str = Field(
        min_length=1,
        max_length=50_000,
        json_schema_extra=ui("Template", widget="jinja_template", order=0, help=TEMPLATE_HELP),
    )

    _syntax = field_validator("template_string")(check_template)


@register_node
class TemplateNode(NodeType[TemplateParams]):
    type_name = "template"
    label = "Template"
    description = "Builds text from the input and state with a Jinja2 template."
    params_model = TemplateParams
    icon = "braces"

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        variables = template_vars(state, input_text=node_input.text, node_inputs=node_input.by_node)
        return NodeOutcome(output=render(self.params.template_string, variables, limits=state.ctx.limits.template))

"""Start and end: every pipeline has exactly one of each, created with the pipeline and never deleted."""

from __future__ import annotations

from tenant_apps.pipelines.engine.state import NodeInput, NodeOutcome, RunState
from tenant_apps.pipelines.nodes.base import NodeType, NoParams, register_node


@register_node
class StartNode(NodeType[NoParams]):
    type_name = "start"
    label = "Start"
    description = "Where the participant's message enters the pipeline."
    params_model = NoParams
    icon = "play"
    can_add = False
    can_delete = False
    has_input = False

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        return NodeOutcome(output=node_input.text)


@register_node
class EndNode(NodeType[NoParams]):
    type_name = "end"
    label = "End"
    description = "Its input is the reply sent to the participant."
    params_model = NoParams
    icon = "flag"
    can_add = False
    can_delete = False

    @classmethod
    def output_handles(cls, params: object) -> list[str]:
        return []

    @classmethod
    def outputs_description(cls) -> dict[str, object]:
        return {"kind": "static", "handles": []}

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        return NodeOutcome(output=node_input.text)

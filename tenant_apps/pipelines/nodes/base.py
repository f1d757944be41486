"""The node type contract and the registry the editor, the validator and the executor share.

A node type is a class with a Pydantic params model. The model's JSON Schema, with ``ui:*`` hints carried in
``json_schema_extra``, is what the editor renders as the node's form (``GET /pipelines/node-types/``); the same
model validates params on save and builds the node for a run, so the three can never disagree.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from tenant_apps.pipelines.engine.state import NodeInput, NodeOutcome, RunState


class NodeParams(BaseModel):
    """Base of every params model: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class NoParams(NodeParams):
    pass


P = TypeVar("P", bound=NodeParams)

DEFAULT_OUTPUT = "output"
DEFAULT_INPUT = "input"


class NodeType(ABC, Generic[P]):
    """One kind of node. Instances are built once per compiled pipeline and must not keep per-run state."""

    type_name: ClassVar[str]
    label: ClassVar[str]
    description: ClassVar[str]
    params_model: ClassVar[type[NodeParams]]
    icon: ClassVar[str] = ""
    can_add: ClassVar[bool] = True  # the editor offers it in the palette (start/end are created with the pipeline)
    can_delete: ClassVar[bool] = True
    is_router: ClassVar[bool] = False  # routers take exactly one of their outputs per run
    has_input: ClassVar[bool] = True
    # It may change participant data or session state: the executor checks they can still be stored (ADR 0060).
    writes_state: ClassVar[bool] = False

    def __init__(self, *, node_id: str, label: str, params: P) -> None:
        self.node_id = node_id
        self.node_label = label or self.label
        self.params: P = params

    @classmethod
    def output_handles(cls, params: Any) -> list[str]:
        """The output handles a node with these params has (routers: one per keyword)."""
        return [DEFAULT_OUTPUT]

    @classmethod
    def input_handles(cls) -> list[str]:
        return [DEFAULT_INPUT] if cls.has_input else []

    @classmethod
    def outputs_description(cls) -> dict[str, Any]:
        return {"kind": "static", "handles": [DEFAULT_OUTPUT]}

    def changes_state(self) -> bool:
        """Whether this node, with its params, may change participant data or session state."""
        return self.writes_state

    @abstractmethod
    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome: ...


NODE_TYPES: dict[str, type[NodeType[Any]]] = {}

N = TypeVar("N", bound=type[NodeType[Any]])


def register_node(cls: N) -> N:
    if cls.type_name in NODE_TYPES:
        raise ValueError(f"node type {cls.type_name!r} registered twice")
    NODE_TYPES[cls.type_name] = cls
    return cls


def ui(
    label: str | None = None,
    *,
    widget: str | None = None,
    order: int | None = None,
    help: str | None = None,
    options_source: str | None = None,
    visible_when: dict[str, Any] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """``json_schema_extra`` for a params field: the ``ui:*`` hints the editor reads."""
    hints: dict[str, Any] = {}
    for key, value in (
        ("ui:label", label),
        ("ui:widget", widget),
        ("ui:order", order),
        ("ui:help", help),
        ("ui:optionsSource", options_source),
        ("ui:visibleWhen", visible_when),
    ):
        if value is not None:
            hints[key] = value
    hints.update({f"ui:{key}": value for key, value in more.items()})
    return hints

"""The graph document and its validation: every problem, each with the node (or edge) it belongs to.

Two levels. ``GraphSpec`` is the *shape* (nodes and edges with ids); a document that does not even have that
shape is refused outright. Everything else (one start, one end, no cycles, reachability, handles, router wiring,
params) is *validation*: a graph with such errors is still stored, so the editor can save work in progress and
show the errors next to the nodes (ADR 0030), but it cannot be run or frozen into a version.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tenant_apps.pipelines.nodes import NODE_TYPES, NodeParams

MAX_NODES = 200
MAX_EDGES = 1000


class Position(BaseModel):
    model_config = ConfigDict(extra="ignore")
    x: float = 0
    y: float = 0


class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=100)
    type: str = Field(min_length=1, max_length=100)
    label: str = Field("", max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    position: Position = Field(default_factory=Position)


class EdgeSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=100)
    target: str = Field(min_length=1, max_length=100)
    source_handle: str = Field("output", max_length=100)
    target_handle: str = Field("input", max_length=100)

    @field_validator("source_handle", mode="before")
    @classmethod
    def _default_source(cls, value: Any) -> Any:
        return "output" if value in (None, "") else value

    @field_validator("target_handle", mode="before")
    @classmethod
    def _default_target(cls, value: Any) -> Any:
        return "input" if value in (None, "") else value


class GraphSpec(BaseModel):
    model_config = ConfigDict(extra="ignore")
    nodes: list[NodeSpec] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[EdgeSpec] = Field(default_factory=list, max_length=MAX_EDGES)


@dataclass(frozen=True, slots=True)
class GraphError:
    code: str
    message: str
    node_id: str | None = None
    edge_id: str | None = None
    field: str | None = None  # params field path for "node.invalid_params", e.g. "keywords.1"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "node_id": self.node_id,
            "edge_id": self.edge_id,
            "field": self.field,
        }


@dataclass(slots=True)
class CheckedGraph:
    """A graph after validation: the errors, and the params models of the nodes whose params are valid."""

    spec: GraphSpec
    errors: list[GraphError]
    params: dict[str, NodeParams]

    @property
    def is_valid(self) -> bool:
        return not self.errors


def parse_graph(document: Any) -> GraphSpec:
    """The shape check. Raises pydantic ``ValidationError`` when ``document`` is not a graph at all."""
    return GraphSpec.model_validate(document)


def pipeline_validate(*, graph: Any) -> list[GraphError]:
    """Every error in ``graph`` (a stored or submitted document), each with its node or edge. [] means runnable."""
    try:
        spec = parse_graph(graph)
    except ValidationError as exc:
        return [
            GraphError("graph.bad_shape", f"{'.'.join(str(p) for p in error['loc']) or 'graph'}: {error['msg']}")
            for error in exc.errors(include_url=False)
        ]
    return check_graph(spec).errors


def check_graph(spec: GraphSpec) -> CheckedGraph:
    errors: list[GraphError] = []
    nodes: dict[str, NodeSpec] = {}
    params: dict[str, NodeParams] = {}

    for node in spec.nodes:
        if node.id in nodes:
            errors.append(GraphError("graph.duplicate_node_id", f"Two nodes have the id {node.id!r}.", node.id))
            continue
        nodes[node.id] = node
        node_type = NODE_TYPES.get(node.type)
        if node_type is None:
            errors.append(GraphError("graph.unknown_node_type", f"Unknown node type {node.type!r}.", node.id))
            continue
        try:
            params[node.id] = node_type.params_model.model_validate(node.params)
        except ValidationError as exc:
            errors.extend(_param_errors(node, exc))

    starts = [node.id for node in nodes.values() if node.type == "start"]
    ends = [node.id for node in nodes.values() if node.type == "end"]
    if not starts:
        errors.append(GraphError("graph.no_start", "The pipeline needs a start node."))
    for extra in starts[1:]:
        errors.append(GraphError("graph.multiple_starts", "A pipeline has exactly one start node.", extra))
    if not ends:
        errors.append(GraphError("graph.no_end", "The pipeline needs an end node."))
    for extra in ends[1:]:
        errors.append(GraphError("graph.multiple_ends", "A pipeline has exactly one end node.", extra))

    edge_ids: set[str] = set()
    links: set[tuple[str, str, str, str]] = set()
    outgoing: dict[str, list[str]] = defaultdict(list)
    incoming: dict[str, list[str]] = defaultdict(list)
    wired: dict[str, set[str]] = defaultdict(set)
    for edge in spec.edges:
        if edge.id in edge_ids:
            errors.append(GraphError("graph.duplicate_edge_id", f"Two edges have the id {edge.id!r}.", edge_id=edge.id))
            continue
        edge_ids.add(edge.id)
        missing = [end for end in (edge.source, edge.target) if end not in nodes]
        if missing:
            known = next((end for end in (edge.source, edge.target) if end in nodes), None)
            errors.append(
                GraphError(
                    "graph.dangling_edge",
                    f"An edge points at a node that does not exist ({', '.join(repr(m) for m in missing)}).",
                    known,
                    edge.id,
                )
            )
            continue
        link = (edge.source, edge.source_handle, edge.target, edge.target_handle)
        if link in links:
            errors.append(
                GraphError("graph.duplicate_edge", "These two nodes are already connected.", edge.source, edge.id)
            )
            continue
        links.add(link)
        source, target = nodes[edge.source], nodes[edge.target]
        ok = True
        source_type = NODE_TYPES.get(source.type)
        if source_type is not None and source.id in params:
            handles = source_type.output_handles(params[source.id])
            if edge.source_handle not in handles:
                ok = False
                message = (
                    "The end node has no outputs."
                    if source.type == "end"
                    else f"{_name(source)} has no output {edge.source_handle!r}."
                )
                errors.append(GraphError("graph.unknown_handle", message, source.id, edge.id))
        target_type = NODE_TYPES.get(target.type)
        if target_type is not None and edge.target_handle not in target_type.input_handles():
            ok = False
            message = (
                "The start node has no inputs."
                if target.type == "start"
                else f"{_name(target)} has no input {edge.target_handle!r}."
            )
            errors.append(GraphError("graph.unknown_handle", message, target.id, edge.id))
        if ok:
            outgoing[source.id].append(target.id)
            incoming[target.id].append(source.id)
            wired[source.id].add(edge.source_handle)

    for node_id, node in nodes.items():
        node_type = NODE_TYPES.get(node.type)
        if node_type is None or not node_type.is_router or node_id not in params:
            continue
        keywords = getattr(params[node_id], "keywords", [])
        for index, handle in enumerate(node_type.output_handles(params[node_id])):
            if handle not in wired[node_id]:
                errors.append(
                    GraphError(
                        "graph.router_output_unwired",
                        f"{_name(node)}: route {keywords[index]!r} is not connected to anything.",
                        node_id,
                        field=f"keywords.{index}",
                    )
                )

    in_cycle = _cycle_nodes(list(nodes), outgoing)
    for component in in_cycle:
        errors.append(
            GraphError(
                "graph.cycle",
                "These nodes form a loop: " + " → ".join(component) + ". Pipelines cannot loop.",
                component[0],
            )
        )
    cyclic = {node_id for component in in_cycle for node_id in component}

    if len(starts) == 1:
        reachable = _reach(starts[0], outgoing)
        for node_id in nodes:
            if node_id not in reachable:
                if nodes[node_id].type == "end":
                    errors.append(
                        GraphError("graph.end_unreachable", "The end node cannot be reached from start.", node_id)
                    )
                else:
                    errors.append(
                        GraphError(
                            "graph.unreachable_node", f"{_name(nodes[node_id])} cannot be reached from start.", node_id
                        )
                    )
    if len(ends) == 1:
        reaches_end = _reach(ends[0], incoming)
        for node_id, node in nodes.items():
            if node_id not in reaches_end and node_id not in cyclic and node.type != "end":
                errors.append(GraphError("graph.dead_end", f"{_name(node)} does not lead to the end node.", node_id))
    return CheckedGraph(spec=spec, errors=errors, params=params)


def _name(node: NodeSpec) -> str:
    return repr(node.label) if node.label else f"Node {node.id!r}"


def _param_errors(node: NodeSpec, exc: ValidationError) -> list[GraphError]:
    errors = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"])
        message = error["msg"]
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        errors.append(GraphError("node.invalid_params", message, node.id, field=path or None))
    return errors


def _reach(origin: str, adjacency: dict[str, list[str]]) -> set[str]:
    seen = {origin}
    queue = deque([origin])
    while queue:
        for neighbour in adjacency.get(queue.popleft(), ()):
            if neighbour not in seen:
                seen.add(neighbour)
                queue.append(neighbour)
    return seen


def _cycle_nodes(node_ids: list[str], outgoing: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components that are loops (Tarjan, iterative), in node order."""
    index_of: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in node_ids:
        if root in index_of:
            continue
        work = [(root, iter(outgoing.get(root, ())))]
        index_of[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index_of:
                    index_of[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(outgoing.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index_of[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index_of[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in outgoing.get(node, ()):
                    order = {node_id: position for position, node_id in enumerate(node_ids)}
                    components.append(sorted(component, key=order.__getitem__))
    return components

"""The graph document and its validation: every problem, each with the node (or edge) it belongs to.

Two levels. ``GraphSpec`` is the *shape* (nodes and edges with ids); a document that does not even have that
shape is refused outright. Everything else (one start, one end, no cycles, reachability, handles, router wiring,
params) is *validation*: a graph with such errors is still stored, so the editor can save work in progress and
show the errors next to the nodes (ADR 0030), but it cannot be run or frozen into a version. Validation is a list
of rules (``RULES``), one function each; a new rule is one more function in that list.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class GraphCheck:
    """One validation in progress. ``RULES`` run in order; the first ones also decide what the later ones see:
    ``nodes`` (one per id), ``params`` (of the nodes whose params are valid), and the sound edges as ``outgoing``,
    ``incoming`` and ``wired`` (the output handles that have an edge)."""

    spec: GraphSpec
    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    params: dict[str, NodeParams] = field(default_factory=dict)
    outgoing: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    incoming: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    wired: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    edge_ids: set[str] = field(default_factory=set)
    links: set[tuple[str, str, str, str]] = field(default_factory=set)  # (source, handle, target, handle)
    cyclic: set[str] = field(default_factory=set)

    def of_type(self, type_name: str) -> list[str]:
        return [node.id for node in self.nodes.values() if node.type == type_name]


Rule = Callable[[GraphCheck], Iterable[GraphError]]


def check_graph(spec: GraphSpec) -> CheckedGraph:
    """Run every rule of ``RULES`` over ``spec``; all errors at once."""
    check = GraphCheck(spec=spec)
    errors = [error for rule in RULES for error in rule(check)]
    return CheckedGraph(spec=spec, errors=errors, params=check.params)


# ------------------------------------------------------------------------------------------------------ nodes


def unique_node_ids(check: GraphCheck) -> Iterator[GraphError]:
    """The first node of each id is the node; later ones are errors (and invisible to the other rules)."""
    for node in check.spec.nodes:
        if node.id in check.nodes:
            yield GraphError("graph.duplicate_node_id", f"Two nodes have the id {node.id!r}.", node.id)
        else:
            check.nodes[node.id] = node


def known_node_types(check: GraphCheck) -> Iterator[GraphError]:
    for node in check.nodes.values():
        if node.type not in NODE_TYPES:
            yield GraphError("graph.unknown_node_type", f"Unknown node type {node.type!r}.", node.id)


def valid_params(check: GraphCheck) -> Iterator[GraphError]:
    """Each node's params against its type's params model; valid ones are kept for the run (``check.params``)."""
    for node in check.nodes.values():
        node_type = NODE_TYPES.get(node.type)
        if node_type is None:
            continue
        try:
            check.params[node.id] = node_type.params_model.model_validate(node.params)
        except ValidationError as exc:
            yield from _param_errors(node, exc)


def one_start(check: GraphCheck) -> Iterator[GraphError]:
    starts = check.of_type("start")
    if not starts:
        yield GraphError("graph.no_start", "The pipeline needs a start node.")
    for extra in starts[1:]:
        yield GraphError("graph.multiple_starts", "A pipeline has exactly one start node.", extra)


def one_end(check: GraphCheck) -> Iterator[GraphError]:
    ends = check.of_type("end")
    if not ends:
        yield GraphError("graph.no_end", "The pipeline needs an end node.")
    for extra in ends[1:]:
        yield GraphError("graph.multiple_ends", "A pipeline has exactly one end node.", extra)


# ------------------------------------------------------------------------------------------------------ edges


def sound_edges(check: GraphCheck) -> Iterator[GraphError]:
    """Each edge through ``EDGE_RULES``: the first rule that finds a problem reports it and the edge is left out;
    an edge with no problem joins the graph the later rules walk."""
    for edge in check.spec.edges:
        problems: list[GraphError] = []
        for edge_rule in EDGE_RULES:
            problems = edge_rule(check, edge)
            if problems:
                break
        yield from problems
        if not problems:
            check.outgoing[edge.source].append(edge.target)
            check.incoming[edge.target].append(edge.source)
            check.wired[edge.source].add(edge.source_handle)


EdgeRule = Callable[[GraphCheck, EdgeSpec], list[GraphError]]


def unique_edge_id(check: GraphCheck, edge: EdgeSpec) -> list[GraphError]:
    if edge.id in check.edge_ids:
        return [GraphError("graph.duplicate_edge_id", f"Two edges have the id {edge.id!r}.", edge_id=edge.id)]
    check.edge_ids.add(edge.id)
    return []


def edge_ends_exist(check: GraphCheck, edge: EdgeSpec) -> list[GraphError]:
    missing = [end for end in (edge.source, edge.target) if end not in check.nodes]
    if not missing:
        return []
    known = next((end for end in (edge.source, edge.target) if end in check.nodes), None)
    message = f"An edge points at a node that does not exist ({', '.join(repr(m) for m in missing)})."
    return [GraphError("graph.dangling_edge", message, known, edge.id)]


def edge_not_repeated(check: GraphCheck, edge: EdgeSpec) -> list[GraphError]:
    link = (edge.source, edge.source_handle, edge.target, edge.target_handle)
    if link in check.links:
        return [GraphError("graph.duplicate_edge", "These two nodes are already connected.", edge.source, edge.id)]
    check.links.add(link)
    return []


def edge_handles_exist(check: GraphCheck, edge: EdgeSpec) -> list[GraphError]:
    """The edge leaves from an output its source has and enters an input its target has."""
    problems = []
    source, target = check.nodes[edge.source], check.nodes[edge.target]
    source_type, target_type = NODE_TYPES.get(source.type), NODE_TYPES.get(target.type)
    source_params = check.params.get(source.id)  # a source with invalid params: its outputs are unknown
    outputs = source_type.output_handles(source_params) if source_type and source_params is not None else None
    if outputs is not None and edge.source_handle not in outputs:
        message = (
            "The end node has no outputs."
            if source.type == "end"
            else f"{_name(source)} has no output {edge.source_handle!r}."
        )
        problems.append(GraphError("graph.unknown_handle", message, source.id, edge.id))
    if target_type is not None and edge.target_handle not in target_type.input_handles():
        message = (
            "The start node has no inputs."
            if target.type == "start"
            else f"{_name(target)} has no input {edge.target_handle!r}."
        )
        problems.append(GraphError("graph.unknown_handle", message, target.id, edge.id))
    return problems


EDGE_RULES: list[EdgeRule] = [unique_edge_id, edge_ends_exist, edge_not_repeated, edge_handles_exist]


# ---------------------------------------------------------------------------------------------- the whole graph


def routers_wired(check: GraphCheck) -> Iterator[GraphError]:
    """Every route of a router leads somewhere."""
    for node_id, node in check.nodes.items():
        node_type = NODE_TYPES.get(node.type)
        if node_type is None or not node_type.is_router or node_id not in check.params:
            continue
        keywords = getattr(check.params[node_id], "keywords", [])
        for index, handle in enumerate(node_type.output_handles(check.params[node_id])):
            if handle not in check.wired[node_id]:
                yield GraphError(
                    "graph.router_output_unwired",
                    f"{_name(node)}: route {keywords[index]!r} is not connected to anything.",
                    node_id,
                    field=f"keywords.{index}",
                )


def no_cycles(check: GraphCheck) -> Iterator[GraphError]:
    for component in _cycle_nodes(list(check.nodes), check.outgoing):
        check.cyclic.update(component)
        message = "These nodes form a loop: " + " → ".join(component) + ". Pipelines cannot loop."
        yield GraphError("graph.cycle", message, component[0])


def reachable_from_start(check: GraphCheck) -> Iterator[GraphError]:
    starts = check.of_type("start")
    if len(starts) != 1:
        return
    reachable = _reach(starts[0], check.outgoing)
    for node_id, node in check.nodes.items():
        if node_id in reachable:
            continue
        if node.type == "end":
            yield GraphError("graph.end_unreachable", "The end node cannot be reached from start.", node_id)
        else:
            yield GraphError("graph.unreachable_node", f"{_name(node)} cannot be reached from start.", node_id)


def leads_to_end(check: GraphCheck) -> Iterator[GraphError]:
    """Every node but the end leads to it (nodes in a loop are reported by ``no_cycles`` instead)."""
    ends = check.of_type("end")
    if len(ends) != 1:
        return
    reaches_end = _reach(ends[0], check.incoming)
    for node_id, node in check.nodes.items():
        if node_id not in reaches_end and node_id not in check.cyclic and node.type != "end":
            yield GraphError("graph.dead_end", f"{_name(node)} does not lead to the end node.", node_id)


# The rules, in the order they run. A new rule is a function of a ``GraphCheck`` that yields ``GraphError``s,
# added here after the rules whose findings it reads (tests/tenant_apps/pipelines/test_graph.py).
RULES: list[Rule] = [
    unique_node_ids,
    known_node_types,
    valid_params,
    one_start,
    one_end,
    sound_edges,
    routers_wired,
    no_cycles,
    reachable_from_start,
    leads_to_end,
]


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

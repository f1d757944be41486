"""Compile a checked graph into a run plan, and run it (ADR 0030).

Semantics:
* Nodes run one at a time in a topological order fixed at compile time (ties keep the graph's node order).
* An edge is *taken* when its source ran and, for a router, the router chose that edge's handle. A node runs when
  at least one of its incoming edges is taken, after every node upstream of it has run or been skipped; a node with
  no taken input is skipped, and so is everything only it feeds. So a node on a join waits for all its *taken*
  inputs and runs once; its input is their outputs joined by a blank line (``node_inputs`` keeps each).
* Validation guarantees the end node runs: every node leads to it and every router output is wired.
* The first node that fails stops the run: the result names it and says why. No node exception escapes.
* Streaming (ADR 0090 §5): an LLM node whose every outgoing edge goes to the end node produces the final reply, so
  it gets the context's ``reply_stream`` while it runs (the first such node of a run; others answer whole).
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass
from time import monotonic, perf_counter
from typing import Any

from pydantic import ValidationError

from shared_apps.core import strict_json
from shared_apps.core.exceptions import ApplicationError
from tenant_apps.pipelines.engine.context import RunContext, copy_state
from tenant_apps.pipelines.engine.limits import RunTimeLimitError
from tenant_apps.pipelines.engine.result import NodeFailure, NodeTrace, RunResult, state_diff
from tenant_apps.pipelines.engine.state import NodeError, NodeInput, NodeOutcome, RunState
from tenant_apps.pipelines.exceptions import PipelineInvalidError
from tenant_apps.pipelines.graph import CheckedGraph, GraphSpec, check_graph, parse_graph
from tenant_apps.pipelines.nodes import NODE_TYPES, NodeType

logger = logging.getLogger(__name__)

JOIN_SEPARATOR = "\n\n"
STREAMING_NODE_TYPES = frozenset({"llm"})  # node types that stream their answer when it is the final reply


@dataclass(slots=True, frozen=True)
class _Step:
    node: NodeType[Any]
    node_id: str
    type_name: str
    label: str
    is_router: bool
    writes_state: bool
    handles: frozenset[str]
    inputs: tuple[tuple[int, str], ...]  # (step index of the source, source handle)


class CompiledPipeline:
    """An immutable run plan. Build once per graph revision (``selectors.pipeline_compiled`` caches it)."""

    def __init__(self, checked: CheckedGraph) -> None:
        if not checked.is_valid:
            raise PipelineInvalidError(
                code="pipeline.invalid",
                message="The pipeline has errors; fix them in the editor.",
                extra={"errors": [error.as_dict() for error in checked.errors]},
            )
        spec = checked.spec
        order = _topological_order(spec)
        position = {node_id: index for index, node_id in enumerate(order)}
        by_id = {node.id: node for node in spec.nodes}
        inputs: dict[str, list[tuple[int, str]]] = {node_id: [] for node_id in order}
        targets: dict[str, set[str]] = {node_id: set() for node_id in order}
        for edge in spec.edges:
            inputs[edge.target].append((position[edge.source], edge.source_handle))
            targets[edge.source].add(by_id[edge.target].type)
        steps = []
        for node_id in order:
            node_spec = by_id[node_id]
            node_type = NODE_TYPES[node_spec.type]
            params = checked.params[node_id]
            node = node_type(node_id=node_id, label=node_spec.label, params=params)
            steps.append(
                _Step(
                    node=node,
                    node_id=node_id,
                    type_name=node_type.type_name,
                    label=node_spec.label or node_type.label,
                    is_router=node_type.is_router,
                    writes_state=node.changes_state(),
                    handles=frozenset(node_type.output_handles(params)),
                    inputs=tuple(sorted(inputs[node_id])),
                )
            )
        self.steps: tuple[_Step, ...] = tuple(steps)
        self.start = next(index for index, step in enumerate(steps) if step.type_name == "start")
        self.end = next(index for index, step in enumerate(steps) if step.type_name == "end")
        self.streaming: frozenset[int] = frozenset(
            index
            for index, step in enumerate(steps)
            if step.type_name in STREAMING_NODE_TYPES and targets[step.node_id] == {"end"}
        )

    def run(self, ctx: RunContext) -> RunResult:
        started = perf_counter()
        state = RunState(
            ctx=ctx,
            participant_data=copy_state(ctx.participant_data),
            session_state=copy_state(ctx.session_state),
            temp_state={"user_input": ctx.input_text, "attachments": [a.as_dict() for a in ctx.attachments]},
        )
        steps = self.steps
        outputs: list[str | None] = [None] * len(steps)
        routes: list[str | None] = [None] * len(steps)
        trace: list[NodeTrace] = []
        path: list[str] = []
        streamed = False
        for index, step in enumerate(steps):
            if index == self.start:
                node_input = NodeInput(ctx.input_text, {})
            else:
                taken = [
                    (steps[source].node_id, output)
                    for source, handle in step.inputs
                    if (output := outputs[source]) is not None and (routes[source] is None or routes[source] == handle)
                ]
                if not taken:
                    continue  # skipped: no taken input edge
                if len(taken) == 1:
                    node_input = NodeInput(taken[0][1], dict(taken))
                else:
                    by_node = dict(taken)
                    node_input = NodeInput(JOIN_SEPARATOR.join(by_node.values()), by_node)

            node_started = perf_counter()
            failure: NodeFailure | None = None
            outcome: NodeOutcome | None = None
            extra: dict[str, Any] | None = None
            streams = index in self.streaming and ctx.reply_stream is not None and not streamed
            state.reply_stream = ctx.reply_stream if streams else None
            streamed = streamed or streams
            try:
                _deadline_check(ctx)  # where nothing could interrupt the run
                outcome = step.node.run(node_input, state)
                _deadline_check(ctx)  # a node that returned late (a thread, a C call, a signal that came too late)
                if step.writes_state:
                    state.check_stored_state()
            except RunTimeLimitError as exc:  # the turn's time limit: this node is the one it stopped (ADR 0065)
                failure = NodeFailure(step.node_id, step.type_name, step.label, exc.code, exc.message)
            except ApplicationError as exc:
                message = strict_json.clean_text(exc.message)
                failure = NodeFailure(step.node_id, step.type_name, step.label, exc.code, message)
                extra = exc.extra or None
            except Exception:
                logger.exception("pipeline.node_crashed", extra={"node_id": step.node_id, "node_type": step.type_name})
                failure = NodeFailure(
                    step.node_id, step.type_name, step.label, "pipeline.node_crashed", "The node failed unexpectedly."
                )
            else:
                if step.is_router and outcome.route not in step.handles:
                    failure = NodeFailure(
                        step.node_id, step.type_name, step.label, "pipeline.bad_route", "The router chose no route."
                    )
            duration = round((perf_counter() - node_started) * 1000, 3)
            path.append(step.node_id)

            if failure is not None or outcome is None:
                trace.append(
                    NodeTrace(
                        step.node_id,
                        step.type_name,
                        step.label,
                        node_input.text,
                        None,
                        duration,
                        error=failure,
                        details=extra,
                    )
                )
                return self._result(state, ctx, started, trace, path, output="", error=failure)

            # Text leaves the engine without NUL characters, which PostgreSQL cannot store (ADR 0061).
            output = outputs[index] = strict_json.clean_text(outcome.output)
            if step.is_router:
                routes[index] = outcome.route
            state.node_outputs[step.node_id] = output
            trace.append(
                NodeTrace(
                    step.node_id,
                    step.type_name,
                    step.label,
                    node_input.text,
                    output,
                    duration,
                    usage=outcome.usage,
                    model=outcome.model,
                    route=outcome.route,
                    route_keyword=outcome.route_keyword,
                    details=outcome.details,
                )
            )
        reply = outputs[self.end]
        if reply is None:  # unreachable for a validated graph; a bug if it happens
            end = steps[self.end]
            failure = NodeFailure(end.node_id, end.type_name, end.label, "pipeline.end_not_reached", "No reply.")
            return self._result(state, ctx, started, trace, path, output="", error=failure)
        # The backstop behind ``writes_state``: a run never hands back changed state that cannot be stored.
        if state.participant_data != ctx.participant_data or state.session_state != ctx.session_state:
            try:
                state.check_stored_state()
            except NodeError as exc:
                end = steps[self.end]
                failure = NodeFailure(end.node_id, end.type_name, end.label, exc.code, exc.message)
                return self._result(state, ctx, started, trace, path, output="", error=failure)
        return self._result(state, ctx, started, trace, path, output=reply, error=None)

    @staticmethod
    def _result(
        state: RunState,
        ctx: RunContext,
        started: float,
        trace: list[NodeTrace],
        path: list[str],
        *,
        output: str,
        error: NodeFailure | None,
    ) -> RunResult:
        return RunResult(
            status="error" if error is not None else "ok",
            output=output,
            error=error,
            trace=trace,
            participant_data=state.participant_data,
            session_state=state.session_state,
            temp_state=state.temp_state,
            participant_data_diff=state_diff(ctx.participant_data, state.participant_data),
            session_state_diff=state_diff(ctx.session_state, state.session_state),
            end_session=state.end_session,
            message_tags=state.message_tags,
            usage=list(state.usage.values()),
            duration_ms=round((perf_counter() - started) * 1000, 3),
            node_path=path,
        )


def compile_graph(document: Any) -> CompiledPipeline:
    """Shape-check, validate and compile a stored graph. Raises ``PipelineInvalidError`` listing every error."""
    try:
        spec = parse_graph(document)
    except ValidationError as exc:
        raise PipelineInvalidError(
            code="pipeline.invalid", message="The stored pipeline is not a graph.", extra={"errors": []}
        ) from exc
    return CompiledPipeline(check_graph(spec))


def _topological_order(spec: GraphSpec) -> list[str]:
    ids = [node.id for node in spec.nodes]
    rank = {node_id: index for index, node_id in enumerate(ids)}
    indegree = dict.fromkeys(ids, 0)
    children: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for edge in spec.edges:
        children[edge.source].append(edge.target)
        indegree[edge.target] += 1
    ready = [(rank[node_id], node_id) for node_id in ids if indegree[node_id] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, node_id = heapq.heappop(ready)
        order.append(node_id)
        for child in children[node_id]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, (rank[child], child))
    return order


def _deadline_check(ctx: RunContext) -> None:
    """Over the turn's time limit: the node about to run, or the one that just returned, is the one it stopped."""
    if ctx.deadline is not None and monotonic() > ctx.deadline:
        raise RunTimeLimitError(ctx.time_limit)

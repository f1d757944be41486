"""What a run returns: the reply (or the failing node), the final state with its diff, the trace and the usage.

No exception escapes ``execute`` for a node failure: the caller always gets a ``RunResult`` it can turn into a
reply (or an apology) plus a stored trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from shared_apps.core import strict_json
from tenant_apps.pipelines.engine.state import ModelUsage
from tenant_apps.providers.llm.types import Usage


@dataclass(slots=True)
class NodeTrace:
    node_id: str
    node_type: str
    label: str
    input: str
    output: str | None
    duration_ms: float
    usage: Usage | None = None
    model: str | None = None
    route: str | None = None  # output handle a router took
    route_keyword: str | None = None
    error: NodeFailure | None = None
    details: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "label": self.label,
            "input": self.input,
            "output": self.output,
            "duration_ms": self.duration_ms,
            "usage": _usage_dict(self.usage) if self.usage is not None else None,
            "model": self.model,
            "route": self.route,
            "route_keyword": self.route_keyword,
            "error": self.error.as_dict() if self.error is not None else None,
            "details": self.details,
        }


@dataclass(frozen=True, slots=True)
class NodeFailure:
    """Which node failed and why. ``message`` is safe to show a team member (the trace panel), not a participant."""

    node_id: str
    node_type: str
    label: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "node_type": self.node_type,
            "label": self.label,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class StateChange:
    op: Literal["add", "change", "remove"]
    path: str  # dotted path into the scope
    old: Any = None
    new: Any = None

    def as_dict(self) -> dict[str, Any]:
        # A failed run's changes are only shown (never applied): they may hold what made it fail (ADR 0061).
        return strict_json.storable({"op": self.op, "path": self.path, "old": self.old, "new": self.new})


@dataclass(slots=True)
class RunResult:
    status: Literal["ok", "error"]
    output: str  # the end node's output ("" when the run failed)
    error: NodeFailure | None
    trace: list[NodeTrace]
    participant_data: dict[str, Any]
    session_state: dict[str, Any]
    temp_state: dict[str, Any]
    participant_data_diff: list[StateChange]
    session_state_diff: list[StateChange]
    end_session: bool
    message_tags: list[str]
    usage: list[ModelUsage]
    duration_ms: float
    node_path: list[str] = field(default_factory=list)  # ids of the nodes that ran, in order

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def total_usage(self) -> Usage:
        total = Usage()
        for entry in self.usage:
            total = total + entry.usage
        return total

    def trace_dicts(self) -> list[dict[str, Any]]:
        """The trace as JSON PostgreSQL accepts (node details may carry a model's or a server's NaN or NUL)."""
        dicts: list[dict[str, Any]] = strict_json.storable([entry.as_dict() for entry in self.trace])
        return dicts


def _usage_dict(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
    }


def state_diff(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[StateChange]:
    """Changes from ``before`` to ``after``, descending into nested dicts (lists compare whole)."""
    changes: list[StateChange] = []
    for key, new in after.items():
        path = f"{prefix}{key}"
        if key not in before:
            changes.append(StateChange("add", path, None, new))
            continue
        old = before[key]
        if isinstance(old, Mapping) and isinstance(new, Mapping):
            changes.extend(state_diff(old, new, path + "."))
        elif old != new or type(old) is not type(new):
            changes.append(StateChange("change", path, old, new))
    changes.extend(StateChange("remove", f"{prefix}{key}", before[key], None) for key in before if key not in after)
    return changes

"""The mutable state of one run, and what a node hands back to the executor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared_apps.core import strict_json
from shared_apps.core.exceptions import ApplicationError
from tenant_apps.pipelines.engine.context import HistoryEntry, HistoryKey, ReplyStream, RunContext
from tenant_apps.providers.llm.types import ChatModel, Usage


class NodeError(ApplicationError):
    """An expected node failure (bad template data, refused URL, sandbox limit...). Recorded on the trace."""


@dataclass(slots=True)
class ModelUsage:
    """Tokens spent on one model during a run; the caller prices them from the catalog."""

    provider_id: int | None
    model: str
    usage: Usage = field(default_factory=Usage)
    calls: int = 0


@dataclass(slots=True)
class NodeInput:
    """What arrives at a node: ``text`` is the joined output of every taken input edge; ``by_node`` keeps each."""

    text: str
    by_node: Mapping[str, str]


@dataclass(slots=True)
class NodeOutcome:
    output: str
    route: str | None = None  # routers: the output handle taken ("output_0", ...)
    route_keyword: str | None = None  # routers: the keyword behind that handle
    usage: Usage | None = None
    model: str | None = None
    details: dict[str, Any] | None = None  # extra trace data (tool calls, console output, fallback reasons)


@dataclass(slots=True)
class RunState:
    """Working copies of the three state scopes plus what the run collects on the way (ADR 0030)."""

    ctx: RunContext
    participant_data: dict[str, Any]
    session_state: dict[str, Any]
    temp_state: dict[str, Any]
    node_outputs: dict[str, str] = field(default_factory=dict)
    end_session: bool = False
    message_tags: list[str] = field(default_factory=list)
    usage: dict[tuple[int | None, str], ModelUsage] = field(default_factory=dict)
    models: dict[tuple[int, str], ChatModel] = field(default_factory=dict)
    history_writes: int = 0
    # Set by the executor while the node that produces the final reply runs (ADR 0090 §5); None for every other.
    reply_stream: ReplyStream | None = None

    def model(self, provider_id: int, name: str) -> ChatModel:
        """The model for this run, resolved once per (provider, model) however many nodes use it."""
        key = (provider_id, name)
        found = self.models.get(key)
        if found is None:
            found = self.models[key] = self.ctx.models(provider_id, name)
        return found

    def record_usage(self, *, provider_id: int | None, model: str, usage: Usage, calls: int = 1) -> None:
        entry = self.usage.get((provider_id, model))
        if entry is None:
            entry = self.usage[(provider_id, model)] = ModelUsage(provider_id=provider_id, model=model)
        entry.usage = entry.usage + usage
        entry.calls += calls

    def add_message_tag(self, tag: str) -> None:
        """Tag the reply. A turn adds at most ``limits.max_tags`` tags (each is a row and a statement)."""
        tag = strict_json.clean_text(tag.strip())
        if not tag or tag in self.message_tags:
            return
        if len(self.message_tags) >= self.ctx.limits.max_tags:
            raise NodeError(
                code="pipeline.too_many_tags",
                message=f"A turn can add at most {self.ctx.limits.max_tags} tags to its reply.",
            )
        self.message_tags.append(tag)

    def append_history(self, key: HistoryKey, entries: Sequence[HistoryEntry]) -> None:
        """Extend a history; a turn writes at most ``limits.max_history_writes`` entries (each is a stored row)."""
        self.history_writes += len(entries)
        if self.history_writes > self.ctx.limits.max_history_writes:
            raise NodeError(
                code="pipeline.too_many_history_writes",
                message=f"A turn can add at most {self.ctx.limits.max_history_writes} history messages.",
            )
        self.ctx.history.append(key, entries)

    def check_stored_state(self) -> None:
        """Raise ``NodeError`` unless participant data and session state can be stored as they are (ADR 0061):
        strict JSON (no NaN/Infinity, no NUL character) within ``limits.max_state_bytes`` each."""
        for label, value in (("Participant data", self.participant_data), ("Session state", self.session_state)):
            try:
                text = strict_json.dumps(value)
            except (ValueError, TypeError) as exc:
                raise NodeError(
                    code="pipeline.state_not_json",
                    message=f"{label} cannot be stored: values must be text, numbers, true/false, null, lists or "
                    "objects (NaN and Infinity are not numbers JSON can hold).",
                ) from exc
            except RecursionError as exc:
                raise NodeError(code="pipeline.state_not_json", message=f"{label} is nested too deeply.") from exc
            if strict_json.has_nul(text):
                raise NodeError(
                    code="pipeline.state_not_json", message=f"{label} cannot be stored: it contains a NUL character."
                )
            size = len(text.encode())
            if size > self.ctx.limits.max_state_bytes:
                raise NodeError(
                    code="pipeline.state_too_large",
                    message=f"{label} would be {size:,} bytes; the limit is {self.ctx.limits.max_state_bytes:,}.",
                )

    def scope(self, name: str) -> dict[str, Any]:
        if name == "participant_data":
            return self.participant_data
        if name == "session_state":
            return self.session_state
        if name == "temp_state":
            return self.temp_state
        raise ValueError(f"unknown state scope {name!r}")


_MISSING = object()


def dotted_get(data: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """``a.b.c`` into nested mappings (list items by index); ``default`` when any step is missing."""
    current: Any = data
    for part in path.split("."):
        if isinstance(current, Mapping):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
        if current is _MISSING:
            return default
    return current


def dotted_set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b.c``, creating (or replacing non-dict) intermediate levels with dicts."""
    parts = path.split(".")
    current = data
    for part in parts[:-1]:
        nxt = current.get(part)
        if not isinstance(nxt, dict):
            nxt = current[part] = {}
        current = nxt
    current[parts[-1]] = value

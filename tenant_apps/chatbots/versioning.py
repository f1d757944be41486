"""What a version freezes, and how two snapshots differ (in words a builder can read)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenant_apps.chatbots.models import Chatbot

# Settings a version freezes. Identity (public id, name history), channel wiring, provider credentials and models
# are not versioned: they are team resources a version refers to by id.
SETTINGS_FIELDS: dict[str, str] = {
    "name": "Name",
    "description": "Description",
    "seed_message": "Seed message",
    "participant_allowlist": "Participant allowlist",
    "file_uploads_enabled": "File uploads",
    "consent": "Consent form",
}


@dataclass(frozen=True)
class SnapshotPart:
    """Something another app keeps per chatbot that versions freeze too (the events app's triggers): ``take``
    returns it as plain JSON, ``restore`` puts a version's copy back into the working copy (revert)."""

    label: str
    take: Callable[[Chatbot], Any]
    restore: Callable[[Chatbot, Any], None]


_parts: dict[str, SnapshotPart] = {}


def register_snapshot_part(key: str, part: SnapshotPart) -> None:
    """Called by apps above chatbots at start-up (``AppConfig.ready``): chatbots imports none of them."""
    _parts[key] = part


def snapshot_parts() -> dict[str, SnapshotPart]:
    return dict(_parts)


def settings_snapshot(chatbot: Chatbot, *, parts: bool = True) -> dict[str, Any]:
    """The chatbot's working settings as plain JSON; the consent form's text is copied, not referenced. Registered
    parts (``register_snapshot_part``) are added under their keys unless ``parts`` is False (the turn's config
    needs none of them: no query for them on the hot path)."""
    settings = _settings(chatbot)
    return settings | {key: part.take(chatbot) for key, part in _parts.items()} if parts else settings


def _settings(chatbot: Chatbot) -> dict[str, Any]:
    form = chatbot.consent_form
    return {
        "name": chatbot.name,
        "description": chatbot.description,
        "seed_message": chatbot.seed_message,
        "participant_allowlist": list(chatbot.participant_allowlist or []),
        "file_uploads_enabled": chatbot.file_uploads_enabled,
        "consent": None
        if form is None
        else {
            "id": form.pk,
            "name": form.name,
            "consent_text": form.consent_text,
            "confirmation_text": form.confirmation_text,
        },
    }


@dataclass(frozen=True)
class Change:
    area: str  # "Settings" | "Pipeline"
    item: str  # "Seed message", "Node “Answer” (llm)", "Edge start → router"
    kind: str  # "added" | "removed" | "changed"
    before: str = ""
    after: str = ""
    # Where the change is, for the editor's visual diff: the node (and params key), or the edge's ends.
    node_id: str | None = None
    param: str | None = None
    edge: tuple[str, str, str] | None = None  # (source, source handle, target)

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "item": self.item,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "node_id": self.node_id,
            "param": self.param,
            "edge": list(self.edge) if self.edge else None,
        }


@dataclass
class Comparison:
    changes: list[Change] = field(default_factory=list)

    @property
    def settings_changes(self) -> list[Change]:
        return [c for c in self.changes if c.area == "Settings"]

    @property
    def pipeline_changes(self) -> list[Change]:
        return [c for c in self.changes if c.area == "Pipeline"]


def _show(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(str(v.get("name") or v) if isinstance(v, dict) else str(v) for v in value)
    if isinstance(value, dict):
        return value.get("name") or ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def compare(
    settings_a: dict[str, Any], graph_a: dict[str, Any], settings_b: dict[str, Any], graph_b: dict[str, Any]
) -> Comparison:
    """Differences from A to B: settings field by field, pipeline node by node (params by key) and edge by edge."""
    result = Comparison()
    labels = SETTINGS_FIELDS | {key: part.label for key, part in _parts.items()}
    for key, label in labels.items():
        before, after = settings_a.get(key), settings_b.get(key)
        if before != after:
            if key == "consent" and before and after and before.get("name") == after.get("name"):
                result.changes.append(Change("Settings", label, "changed", "previous text", "new text"))
            else:
                result.changes.append(Change("Settings", label, "changed", _show(before), _show(after)))

    nodes_a = {n["id"]: n for n in graph_a.get("nodes", [])}
    nodes_b = {n["id"]: n for n in graph_b.get("nodes", [])}

    def node_name(node: dict[str, Any]) -> str:
        return f"Node “{node.get('label') or node['id']}” ({node.get('type')})"

    for node_id in sorted(nodes_a.keys() - nodes_b.keys()):
        result.changes.append(Change("Pipeline", node_name(nodes_a[node_id]), "removed", node_id=node_id))
    for node_id in sorted(nodes_b.keys() - nodes_a.keys()):
        result.changes.append(Change("Pipeline", node_name(nodes_b[node_id]), "added", node_id=node_id))
    for node_id in sorted(nodes_a.keys() & nodes_b.keys()):
        a, b = nodes_a[node_id], nodes_b[node_id]
        if a.get("label") != b.get("label"):
            result.changes.append(
                Change(
                    "Pipeline",
                    node_name(b),
                    "changed",
                    f"label {a.get('label')}",
                    f"label {b.get('label')}",
                    node_id=node_id,
                    param="label",
                )
            )
        params_a, params_b = a.get("params") or {}, b.get("params") or {}
        for param in sorted(params_a.keys() | params_b.keys()):
            if params_a.get(param) != params_b.get(param):
                result.changes.append(
                    Change(
                        "Pipeline",
                        f"{node_name(b)} · {param}",
                        "changed",
                        _show(params_a.get(param)),
                        _show(params_b.get(param)),
                        node_id=node_id,
                        param=param,
                    )
                )

    def edge_key(edge: dict[str, Any]) -> tuple[str, str, str]:
        return (edge["source"], edge.get("source_handle") or "", edge["target"])

    def edge_name(key: tuple[str, str, str], nodes: dict[str, Any]) -> str:
        source, handle, target = key

        def label(node_id: str) -> str:
            return str((nodes.get(node_id) or {}).get("label") or node_id)

        return f"Edge {label(source)}{f' [{handle}]' if handle else ''} → {label(target)}"

    edges_a = {edge_key(e) for e in graph_a.get("edges", [])}
    edges_b = {edge_key(e) for e in graph_b.get("edges", [])}
    for edge in sorted(edges_a - edges_b):
        result.changes.append(Change("Pipeline", edge_name(edge, nodes_a), "removed", edge=edge))
    for edge in sorted(edges_b - edges_a):
        result.changes.append(Change("Pipeline", edge_name(edge, nodes_b), "added", edge=edge))
    return result

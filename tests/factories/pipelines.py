"""Builders for pipeline graphs in tests: ``graph(node(...), ..., edges=[edge(...)])``."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

LLM = {"llm_provider_id": 1, "llm_model": "scripted-model"}


def node(node_id: str, node_type: str, label: str = "", **params: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "label": label, "params": params, "position": {"x": 0, "y": 0}}


def llm(node_id: str = "llm", prompt: str = "", **params: Any) -> dict[str, Any]:
    return node(node_id, "llm", **{**LLM, "prompt": prompt, "history_type": "none", **params})


def code(body: str, node_id: str = "code") -> dict[str, Any]:
    """A code node whose ``main(input, **kwargs)`` is ``body`` (lines indented for you)."""
    source = "def main(input, **kwargs):\n" + "\n".join(f"    {line}" for line in body.splitlines())
    return node(node_id, "code", code=source)


def edge(source: str, target: str, source_handle: str = "output", target_handle: str = "input") -> dict[str, Any]:
    return {
        "id": f"{source}:{source_handle}->{target}",
        "source": source,
        "target": target,
        "source_handle": source_handle,
        "target_handle": target_handle,
    }


def graph(*nodes: dict[str, Any], edges: list[dict[str, Any]]) -> dict[str, Any]:
    return {"nodes": list(nodes), "edges": edges}


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """start -> nodes... -> end, wired in order."""
    all_nodes = [node("start", "start"), *nodes, node("end", "end")]
    ids = [n["id"] for n in all_nodes]
    return graph(*all_nodes, edges=[edge(a, b) for a, b in pairwise(ids)])

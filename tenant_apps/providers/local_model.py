"""Whether the key-less demo model (``make run``'s local SmolLM2 server) is ready, for the pages that use it.

``infra/dev/local_llm.py`` writes its progress to a small JSON file (``LOCAL_LLM_STATUS_FILE``, set in development
only). A provider "is the local model" when it is the llama.cpp type at ``LOCAL_LLM_BASE_URL``. Pages of a chatbot
on that provider show the progress until the model answers, and offer adding another provider meanwhile.
(ADR 0080)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from tenant_apps.providers.models import LlmProvider

# A status file not rewritten for this long while "preparing" means its writer died (make run stopped meanwhile).
STALE_SECONDS = 600
STATES = ("preparing", "starting", "ready", "failed", "stopped", "off")


@dataclass(frozen=True)
class LocalModelStatus:
    state: str  # one of STATES
    step: str
    progress: int  # 0-100
    message: str

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def working(self) -> bool:
        """Still on its way (the page keeps polling)."""
        return self.state in ("preparing", "starting")


def local_model_status() -> LocalModelStatus | None:
    """What the status file says, or None when there is no local model to wait for (not development, or off)."""
    path = settings.LOCAL_LLM_STATUS_FILE
    if not path:
        return None
    try:
        raw: dict[str, Any] = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    state = str(raw.get("state") or "")
    if state not in STATES or state == "off":
        return None
    step = str(raw.get("step") or "")[:200]
    message = str(raw.get("message") or "")[:500]
    try:
        progress = max(0, min(100, int(raw.get("progress") or 0)))
        updated = float(raw.get("updated_at") or 0)
    except (TypeError, ValueError):
        progress, updated = 0, 0.0
    if state in ("preparing", "starting") and time.time() - updated > STALE_SECONDS:
        return LocalModelStatus("stopped", "Not running", 0, "")
    return LocalModelStatus(state, step, progress, message)


def is_local_model(provider: LlmProvider) -> bool:
    base_url = str(provider.config.get("base_url") or "").rstrip("/")
    return provider.type == "llamacpp" and bool(base_url) and base_url == settings.LOCAL_LLM_BASE_URL.rstrip("/")


def pipeline_provider_ids(graph: Any) -> set[int]:
    """The LLM providers a pipeline graph's nodes use."""
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    ids = set()
    for node in nodes if isinstance(nodes, list) else []:
        params = node.get("params") if isinstance(node, dict) else None
        provider_id = params.get("llm_provider_id") if isinstance(params, dict) else None
        if isinstance(provider_id, int):
            ids.add(provider_id)
    return ids


def local_model_waiting(*, chatbot: Any) -> LocalModelStatus | None:
    """The local model's status when ``chatbot``'s working pipeline uses it and it is not ready; else None.

    Reads the status file first: when there is none (production) or the model is ready, no query is made.
    """
    status = local_model_status()
    if status is None or status.ready:
        return None
    provider_ids = pipeline_provider_ids(chatbot.pipeline.graph)
    providers = LlmProvider.objects.filter(pk__in=provider_ids, type="llamacpp").only("id", "type", "config")
    return status if any(is_local_model(provider) for provider in providers) else None

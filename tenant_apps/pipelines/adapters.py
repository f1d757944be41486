"""The team's side of the pipeline engine's ports: its LLM providers' models and email sent from the pipelines
queue once the run's transaction commits.

The engine (``engine/``, ``nodes/``) sees the world only through ``RunContext`` and imports no model, service or
view (import contract), so these adapters live here. Whatever runs a pipeline for real (the chat turn) builds its
context with ``run_context``; tests and benchmarks pass their own stand-ins to ``RunContext``.
"""

from __future__ import annotations

from typing import Any

from tenant_apps.pipelines import services
from tenant_apps.pipelines.engine.context import EmailRequest, RunContext
from tenant_apps.providers.llm.types import ChatModel


def provider_models(provider_id: int, model: str) -> ChatModel:
    """The team's provider through the LLM layer (raises ``provider.not_found``)."""
    from tenant_apps.providers.llm.factory import chat_model_for  # the SDKs load only when a model is needed

    return chat_model_for(provider_id=provider_id, model=model)


def email_on_commit(request: EmailRequest) -> None:
    """Record the email and send it from the pipelines queue once the caller's transaction commits."""
    services.pipeline_email_enqueue(recipients=request.recipients, subject=request.subject, body=request.body)


def run_context(**fields: Any) -> RunContext:
    """A ``RunContext`` wired to the team: its models and email, plus ``fields`` (input, state, history ...)."""
    return RunContext(**{"models": provider_models, "send_email": email_on_commit, **fields})

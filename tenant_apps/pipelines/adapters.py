"""The team's side of the pipeline engine's ports: its LLM providers' models and email sent from the pipelines
queue once the run's transaction commits.

The engine (``engine/``, ``nodes/``) sees the world only through ``RunContext`` and imports no model, service or
view (import contract), so these adapters live here. Whatever runs a pipeline for real (the chat turn) builds its
context with ``run_context``; tests and benchmarks pass their own stand-ins to ``RunContext``.

Every port that waits on the outside world (a model, an HTTP call, the code sandbox) first hands the database
connection back to the pool (``connection_release``): in the gevent chat worker a turn holds a connection only for
its statements, never across a model call (ADR 0090). Without a pool that is a no-op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from shared_apps.core.db import connection_release
from shared_apps.core.http import SafeResponse, safe_request
from tenant_apps.pipelines import services
from tenant_apps.pipelines.engine.context import EmailRequest, RunContext, sandbox_code_runner
from tenant_apps.providers.llm.types import ChatModel, ChatParams, ChatResult, Message, StreamDelta, ToolSpec

if TYPE_CHECKING:
    from tenant_apps.pipelines.sandbox.runner import CodeRunner


class ConnectionFreeModel:
    """A ``ChatModel`` that hands the database connection back before each call: the call may take seconds."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner = inner
        self.provider_type = inner.provider_type
        self.model = inner.model

    def __repr__(self) -> str:
        return f"<ConnectionFreeModel {self.inner!r}>"

    def chat(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> ChatResult:
        connection_release()
        return self.inner.chat(messages=messages, tools=tools, params=params)

    def stream(
        self, *, messages: Sequence[Message], tools: Sequence[ToolSpec] = (), params: ChatParams | None = None
    ) -> Iterator[StreamDelta]:
        connection_release()
        return self.inner.stream(messages=messages, tools=tools, params=params)


def provider_models(provider_id: int, model: str, *, on_wait: Callable[[str, float], None] | None = None) -> ChatModel:
    """The team's provider through the LLM layer (raises ``provider.not_found``); ``on_wait(code, seconds)`` is told
    before each retry wait (the turn shows "waiting")."""
    from tenant_apps.providers.llm.factory import chat_model_for  # the SDKs load only when a model is needed

    return ConnectionFreeModel(chat_model_for(provider_id=provider_id, model=model, on_wait=on_wait))


def _fixed_model(models: Callable[..., ChatModel], chosen: tuple[int, str], provider_id: int, model: str) -> ChatModel:
    return models(*chosen)


def http_without_connection(*args: Any, **kwargs: Any) -> SafeResponse:
    connection_release()
    return safe_request(*args, **kwargs)


def code_runner_without_connection() -> CodeRunner:
    connection_release()
    return sandbox_code_runner()


def email_on_commit(request: EmailRequest) -> None:
    """Record the email and send it from the pipelines queue once the caller's transaction commits."""
    services.pipeline_email_enqueue(recipients=request.recipients, subject=request.subject, body=request.body)


def run_context(
    *,
    on_wait: Callable[[str, float], None] | None = None,
    model_override: tuple[int, str] | None = None,
    **fields: Any,
) -> RunContext:
    """A ``RunContext`` wired to the team: its models and email, plus ``fields`` (input, state, history ...).
    ``on_wait`` hears about provider retry waits (see ``provider_models``); ``model_override`` (provider id,
    model) replaces the model of every LLM call of the run (a spend cap's cheaper fallback)."""
    models: Callable[..., ChatModel] = provider_models if on_wait is None else partial(provider_models, on_wait=on_wait)
    if model_override is not None:
        models = partial(_fixed_model, models, model_override)
    ports: dict[str, Any] = {
        "models": models,
        "send_email": email_on_commit,
        "http_request": http_without_connection,
        "code_runner": code_runner_without_connection,
    }
    return RunContext(**(ports | fields))

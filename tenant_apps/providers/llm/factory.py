"""Build a ``ChatModel`` for one of the team's providers: the entry point for everything that calls a model.

    model = chat_model_for(provider_id=bot.llm_provider_id, model="gpt-4.1-mini")
    result = model.chat(messages=[Message("system", prompt), *history, Message("user", text)])

SDK clients hold connection pools and are costly to build (~ms), so they are cached per process by
(schema, provider id, provider ``updated_at``): any change to the provider (new key, new URL) makes a new key,
and a turn costs one small query to read ``updated_at``. Nothing here decrypts on a cache hit. (ADR 0023)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import anthropic
import httpx2
import openai
from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from shared_apps.catalog.enums import LlmApi
from shared_apps.catalog.selectors import ModelTraits, model_traits, provider_type_get
from shared_apps.core.db import connection
from shared_apps.core.http import validate_public_url
from shared_apps.core.prepared import PreparedQuery
from tenant_apps.providers.exceptions import ProviderNotFoundError
from tenant_apps.providers.llm.clients import AnthropicChatModel, OpenAIChatModel
from tenant_apps.providers.llm.loop import run_tool_loop
from tenant_apps.providers.llm.tokens import count_tokens
from tenant_apps.providers.llm.transport import GuardedTransport
from tenant_apps.providers.llm.types import ChatModel
from tenant_apps.providers.models import LlmProvider

__all__ = ["chat_model_for", "chat_model_for_provider", "clear_client_cache", "count_tokens", "run_tool_loop"]

MAX_CACHED_CLIENTS = 256
CONNECT_TIMEOUT_SECONDS = 10.0
MAX_COMPLETION_TOKENS_TYPES = frozenset({"openai", "azure_openai"})  # they reject max_tokens on newer models
NO_STREAM_USAGE_TYPES = frozenset({"mistral"})  # rejects stream_options


@dataclass(frozen=True)
class ClientEntry:
    client: Any
    api: str
    provider_type: str
    label: str
    secrets: tuple[str, ...]

    def __repr__(self) -> str:
        return f"<ClientEntry {self.provider_type}>"

    def chat_model(
        self,
        model: str,
        traits: ModelTraits,
        *,
        max_retries: int | None = None,
        on_wait: Callable[[str, float], None] | None = None,
    ) -> OpenAIChatModel | AnthropicChatModel:
        common: dict[str, Any] = {
            "client": self.client,
            "model": model,
            "provider_type": self.provider_type,
            "traits": traits,
            "label": self.label,
            "secrets": self.secrets,
            "max_retries": settings.LLM_MAX_RETRIES if max_retries is None else max_retries,
            "max_retry_wait": float(settings.LLM_MAX_RETRY_WAIT_SECONDS),
            "on_wait": on_wait,
        }
        if self.api == LlmApi.ANTHROPIC:
            return AnthropicChatModel(**common)
        return OpenAIChatModel(
            max_tokens_param="max_completion_tokens"
            if self.provider_type in MAX_COMPLETION_TOKENS_TYPES
            else "max_tokens",
            stream_usage=self.provider_type not in NO_STREAM_USAGE_TYPES,
            **common,
        )


_cache: OrderedDict[tuple[str, int, datetime], ClientEntry] = OrderedDict()
_lock = threading.Lock()


def _http_client(timeout: httpx2.Timeout) -> httpx2.Client | None:
    """None lets the SDK build its default client (dev/test); otherwise a client that pins checked addresses."""
    if settings.ALLOW_PRIVATE_URLS:
        return None
    return httpx2.Client(transport=GuardedTransport(), timeout=timeout, trust_env=False, follow_redirects=False)


@sensitive_variables("secrets", "api_key")
def build_client(provider: LlmProvider, *, timeout: float | None = None) -> ClientEntry:
    """Decrypt the provider's credentials and build its SDK client (no retries inside the SDK: ours apply)."""
    config = provider.config
    secrets = provider.credentials.reveal()
    api_key = secrets.get("api_key") or "not-needed"  # local servers accept any key; the SDKs insist on one
    http_timeout = httpx2.Timeout(timeout or settings.LLM_REQUEST_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
    common: dict[str, Any] = {"max_retries": 0, "timeout": http_timeout, "http_client": _http_client(http_timeout)}
    endpoint = config.get("azure_endpoint") if provider.api == LlmApi.AZURE_OPENAI else config.get("base_url")
    if endpoint:
        validate_public_url(endpoint)
    client: Any
    if provider.api == LlmApi.AZURE_OPENAI:
        client = openai.AzureOpenAI(
            api_key=api_key,
            azure_endpoint=endpoint,
            api_version=config.get("api_version") or None,
            azure_deployment=config.get("deployment") or None,
            **common,
        )
    elif provider.api == LlmApi.ANTHROPIC:
        client = anthropic.Anthropic(api_key=api_key, base_url=endpoint or None, **common)
    else:
        client = openai.OpenAI(
            api_key=api_key, base_url=endpoint or None, organization=config.get("organization") or None, **common
        )
    provider_type = provider_type_get(slug=provider.type)
    return ClientEntry(
        client=client,
        api=provider.api,
        provider_type=provider.type,
        label=endpoint_label(provider_type.name if provider_type else provider.type, endpoint or str(client.base_url)),
        secrets=tuple(value for value in secrets.values() if value),
    )


def endpoint_label(type_name: str, url: str) -> str:
    """How errors name a provider: its type and the host actually called ("llama.cpp at 127.0.0.1:8801"), so a
    failure on a self-hosted or mistyped endpoint says where it happened, not just "OpenAI"."""
    host = urlsplit(url).netloc.rpartition("@")[2] if url else ""
    return f"{type_name} at {host}" if host else type_name


# Run on every model call: compiled once per process (ADR 0040).
_STAMP = PreparedQuery(
    lambda provider_id: LlmProvider.objects.filter(pk=provider_id).only("id", "updated_at")[:1], provider_id=int
)


def chat_model_for(
    *,
    provider_id: int,
    model: str,
    max_retries: int | None = None,
    on_wait: Callable[[str, float], None] | None = None,
) -> ChatModel:
    """The model ``model`` at the active team's provider ``provider_id``. One query when the client is cached.
    ``on_wait(code, seconds)`` is told before each retry wait of a rate-limited or failing provider.

    Raises ``ProviderNotFoundError`` when the provider does not exist in this team; calls on the returned model
    raise ``llm.errors.LlmError`` subclasses.
    """
    row = _STAMP.first(provider_id=provider_id)
    if row is None:
        raise ProviderNotFoundError(code="provider.not_found", message="This LLM provider no longer exists.")
    key = (connection.schema_name, provider_id, row.updated_at)
    with _lock:
        entry = _cache.get(key)
        if entry is not None:
            _cache.move_to_end(key)
    if entry is None:
        entry = build_client(LlmProvider.objects.get(pk=provider_id))
        with _lock:
            _cache[key] = entry
            while len(_cache) > MAX_CACHED_CLIENTS:
                _cache.popitem(last=False)
    return entry.chat_model(
        model, model_traits(provider_type=entry.provider_type, model=model), max_retries=max_retries, on_wait=on_wait
    )


def chat_model_for_provider(
    provider: LlmProvider, *, model: str, timeout: float | None = None, max_retries: int | None = None
) -> OpenAIChatModel | AnthropicChatModel:
    """An uncached model for ``provider`` as given (used by "Test connection" and tests)."""
    entry = build_client(provider, timeout=timeout)
    return entry.chat_model(
        model, model_traits(provider_type=entry.provider_type, model=model), max_retries=max_retries
    )


def clear_client_cache() -> None:
    with _lock:
        _cache.clear()


def cached_client_count() -> int:
    return len(_cache)

"""The demo team's LLM provider, so ``make run`` gives a chatbot that answers without any API key.

``demo_setup`` is a ``DEMO_SETUP_HOOKS`` entry (called inside the demo team). Other apps' demo hooks that need
a model (the demo chatbot) call ``demo_llm_choice()`` after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from shared_apps.catalog.services import catalog_seed
from tenant_apps.providers.enums import ProviderKind
from tenant_apps.providers.models import LlmProvider
from tenant_apps.providers.selectors import llm_default_model
from tenant_apps.providers.services import llm_provider_model_add, provider_create
from tenants.context import public_context


@dataclass(frozen=True)
class DemoChoice:
    name: str
    type: str
    config: dict[str, str]
    secrets: dict[str, str]
    model: str | None  # None: the catalog's default for the type


def _choice() -> DemoChoice:
    if settings.DEMO_OPENAI_API_KEY:
        return DemoChoice(
            "OpenAI (demo)",
            "openai",
            {"base_url": "https://api.openai.com/v1"},
            {"api_key": settings.DEMO_OPENAI_API_KEY},
            None,
        )
    if settings.DEMO_ANTHROPIC_API_KEY:
        return DemoChoice(
            "Anthropic (demo)",
            "anthropic",
            {"base_url": "https://api.anthropic.com"},
            {"api_key": settings.DEMO_ANTHROPIC_API_KEY},
            None,
        )
    return DemoChoice(
        "Local SmolLM2 (llama.cpp)",
        "llamacpp",
        {"base_url": settings.LOCAL_LLM_BASE_URL},
        {},
        settings.LOCAL_LLM_MODEL,
    )


def demo_llm_choice() -> tuple[LlmProvider, str] | None:
    """(provider, model) the demo chatbot should use, or None before ``demo_setup`` ran."""
    choice = _choice()
    provider = LlmProvider.objects.filter(name=choice.name).first()
    if provider is None:
        return None
    model = choice.model or llm_default_model(provider=provider)
    return (provider, model) if model else None


def demo_setup(*, team: Any, user: Any, stdout: Any) -> None:
    """Seed the catalog and give the demo team its LLM provider. Idempotent: an existing one is kept."""
    with public_context():
        catalog_seed()
    choice = _choice()
    provider = LlmProvider.objects.filter(name=choice.name).first()
    if provider is None:
        created = provider_create(
            kind=ProviderKind.LLM,
            type=choice.type,
            name=choice.name,
            config=choice.config,
            secrets=choice.secrets,
            user=user,
        )
        assert isinstance(created, LlmProvider)
        provider = created
    if choice.model and not provider.custom_models.filter(name=choice.model).exists():
        llm_provider_model_add(
            provider=provider, name=choice.model, context_window=2048, supports_tools=False, user=user
        )
    picked = demo_llm_choice()
    model = picked[1] if picked else "?"
    stdout.write(f"Demo LLM provider: {provider.name} · model {model}")

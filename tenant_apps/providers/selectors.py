"""Reads of the team's providers (no team filter: the schema is the team)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from shared_apps.catalog.selectors import llm_model_list
from tenant_apps.providers.enums import MessagingType, ProviderKind
from tenant_apps.providers.exceptions import ProviderNotFoundError
from tenant_apps.providers.models import KIND_MODELS, LlmProvider, LlmProviderModel, MessagingProvider, ProviderBase


def llm_provider_list() -> QuerySet[LlmProvider]:
    return LlmProvider.objects.order_by("name")


def messaging_provider_list(*, type: MessagingType | str | None = None) -> QuerySet[MessagingProvider]:
    qs = MessagingProvider.objects.order_by("name")
    return qs.filter(type=type) if type else qs


def provider_get(*, kind: ProviderKind | str, provider_id: int) -> ProviderBase:
    """The provider, or ``ProviderNotFoundError`` (also for kinds without a table and ids of other teams)."""
    model = KIND_MODELS.get(ProviderKind(kind)) if kind in ProviderKind.values else None
    provider = model._default_manager.filter(pk=provider_id).first() if model is not None else None
    if provider is None:
        raise ProviderNotFoundError(code="provider.not_found", message="This provider does not exist.")
    return provider


def llm_provider_get(*, provider_id: int) -> LlmProvider:
    provider = provider_get(kind=ProviderKind.LLM, provider_id=provider_id)
    assert isinstance(provider, LlmProvider)
    return provider


def messaging_provider_get(*, provider_id: int, type: MessagingType | str | None = None) -> MessagingProvider:
    provider = provider_get(kind=ProviderKind.MESSAGING, provider_id=provider_id)
    assert isinstance(provider, MessagingProvider)
    if type is not None and provider.type != type:
        raise ProviderNotFoundError(code="provider.not_found", message="This provider does not exist.")
    return provider


@dataclass(frozen=True)
class ModelOption:
    """A model a node/chatbot can pick for a provider: from the global catalog or the team's own list."""

    name: str
    label: str
    source: str  # "catalog" | "team"
    context_window: int | None
    max_output_tokens: int | None
    supports_tools: bool
    supports_vision: bool
    deprecated: bool = False
    replacement: str | None = None
    is_default: bool = False


def llm_provider_custom_models(*, provider: LlmProvider) -> QuerySet[LlmProviderModel]:
    return provider.custom_models.order_by("name")


def llm_provider_custom_model_get(*, provider: LlmProvider, model_id: int) -> LlmProviderModel | None:
    return provider.custom_models.filter(pk=model_id).first()


def llm_model_options(*, provider: LlmProvider, include_deprecated: bool = False) -> list[ModelOption]:
    """The team's own models for ``provider`` first, then the catalog's models of its type (default first)."""
    options = [
        ModelOption(
            name=m.name,
            label=m.name,
            source="team",
            context_window=m.context_window,
            max_output_tokens=m.max_output_tokens,
            supports_tools=m.supports_tools,
            supports_vision=m.supports_vision,
        )
        for m in llm_provider_custom_models(provider=provider)
    ]
    own = {o.name for o in options}
    for m in llm_model_list(provider_type=provider.type, include_deprecated=include_deprecated):
        if m.name in own:
            continue
        options.append(
            ModelOption(
                name=m.name,
                label=m.display_name or m.name,
                source="catalog",
                context_window=m.context_window,
                max_output_tokens=m.max_output_tokens,
                supports_tools=m.supports_tools,
                supports_vision=m.supports_vision,
                deprecated=m.deprecated,
                replacement=m.replacement.name if m.replacement else None,
                is_default=m.is_default,
            )
        )
    return options


def llm_default_model(*, provider: LlmProvider) -> str | None:
    """The model to suggest first for ``provider``: the team's first own model, else the catalog default."""
    options = llm_model_options(provider=provider)
    for option in options:
        if option.source == "team" or option.is_default:
            return option.name
    return options[0].name if options else None


def llm_provider_type(*, provider_id: int | None) -> str | None:
    """The catalog provider type of one of the team's LLM providers (None when unknown or deleted)."""
    if provider_id is None:
        return None
    return LlmProvider.objects.filter(pk=provider_id).values_list("type", flat=True).first()


@dataclass(frozen=True)
class DefaultLlm:
    provider_id: int
    model: str


def llm_first_choice() -> DefaultLlm | None:
    """The team's first LLM provider and its suggested model: what a new chatbot starts with."""
    for provider in LlmProvider.objects.order_by("created_at", "id"):
        model = llm_default_model(provider=provider)
        if model:
            return DefaultLlm(provider_id=provider.pk, model=model)
    return None


def llm_choices() -> list[tuple[int, str, list[str]]]:
    """Every LLM provider with its model names (provider id, name, models): the spend caps' fallback picker
    (``BILLING_MODEL_CHOICES``)."""
    return [
        (provider.pk, provider.name, [option.name for option in llm_model_options(provider=provider)])
        for provider in llm_provider_list()
    ]

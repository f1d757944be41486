"""Reads of the catalog. ``model_traits`` is on the chat hot path, so it is cached in-process briefly."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from shared_apps.catalog.models import LlmModel, ProviderType

TRAITS_TTL_SECONDS = 60.0


@dataclass(frozen=True)
class ModelTraits:
    """What the LLM layer needs to know about a model to shape a request. Unknown models get the defaults."""

    known: bool = False
    context_window: int | None = None
    max_output_tokens: int | None = None
    supports_tools: bool = True
    supports_streaming: bool = True
    supports_reasoning_effort: bool = False
    supports_temperature: bool = True


def provider_type_list(*, include_inactive: bool = False) -> QuerySet[ProviderType]:
    qs = ProviderType.objects.all()
    return qs if include_inactive else qs.filter(is_active=True)


def provider_type_get(*, slug: str) -> ProviderType | None:
    return ProviderType.objects.filter(slug=slug).first()


def llm_model_list(*, provider_type: str, include_deprecated: bool = True) -> QuerySet[LlmModel]:
    qs = LlmModel.objects.filter(provider_type__slug=provider_type).select_related("replacement")
    return qs if include_deprecated else qs.filter(deprecated=False)


_traits: dict[tuple[str, str], tuple[float, ModelTraits]] = {}


def model_traits(*, provider_type: str, model: str) -> ModelTraits:
    """The catalog's facts about ``model`` at ``provider_type`` (cached for a minute per process)."""
    key = (provider_type, model)
    hit = _traits.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < TRAITS_TTL_SECONDS:
        return hit[1]
    row = LlmModel.objects.filter(provider_type__slug=provider_type, name=model).first()
    traits = (
        ModelTraits(
            known=True,
            context_window=row.context_window,
            max_output_tokens=row.max_output_tokens,
            supports_tools=row.supports_tools,
            supports_streaming=row.supports_streaming,
            supports_reasoning_effort=row.supports_reasoning_effort,
            supports_temperature=row.supports_temperature,
        )
        if row is not None
        else ModelTraits()
    )
    _traits[key] = (now, traits)
    return traits


def model_traits_clear() -> None:
    _traits.clear()


@dataclass(frozen=True)
class ModelPrices:
    """USD per million tokens; ``cached_input`` None = the provider bills cached input at the input price."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None


def model_prices(*, provider_type: str, model: str) -> ModelPrices | None:
    """The catalog's prices for ``model`` at ``provider_type``, or None when it has none (cost is then 0)."""
    row = (
        LlmModel.objects.filter(provider_type__slug=provider_type, name=model)
        .values("input_price_per_million", "output_price_per_million", "cached_input_price_per_million")
        .first()
    )
    if row is None or row["input_price_per_million"] is None or row["output_price_per_million"] is None:
        return None
    return ModelPrices(
        input=row["input_price_per_million"],
        output=row["output_price_per_million"],
        cached_input=row["cached_input_price_per_million"],
    )

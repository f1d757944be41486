"""What a model call cost: its ``Usage`` at the catalog's prices (per million tokens) for the team provider's type,
cached per process for a few minutes."""

from __future__ import annotations

import time
from decimal import Decimal

from shared_apps.catalog.selectors import ModelPrices, model_prices
from shared_apps.core.db import connection
from tenant_apps.providers.llm.types import Usage
from tenant_apps.providers.selectors import llm_provider_type

MILLION = Decimal(1_000_000)
TTL_SECONDS = 300.0
_cache: dict[tuple[str, int | None, str], tuple[float, ModelPrices | None]] = {}


def _prices(provider_id: int | None, model: str) -> ModelPrices | None:
    key = (connection.schema_name, provider_id, model)
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < TTL_SECONDS:
        return hit[1]
    provider_type = llm_provider_type(provider_id=provider_id)
    prices = model_prices(provider_type=provider_type, model=model) if provider_type else None
    _cache[key] = (now, prices)
    return prices


def cost_of(*, provider_id: int | None, model: str, usage: Usage) -> Decimal:
    """Uncached input, cached input and output tokens at the model's prices; 0 when the model has no price."""
    prices = _prices(provider_id, model)
    if prices is None:
        return Decimal(0)
    cached_price = prices.cached_input if prices.cached_input is not None else prices.input
    uncached = max(usage.input_tokens - usage.cached_tokens, 0)
    total = uncached * prices.input + usage.cached_tokens * cached_price + usage.output_tokens * prices.output
    return total / MILLION

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django import template
from django.conf import settings

register = template.Library()

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£"}


# Model costs come from the catalog's prices, which are in US dollars; plan prices and invoices in their own.
MODEL_COST_CURRENCY = "usd"


@register.filter
def money(value: Any, currency: str = MODEL_COST_CURRENCY) -> str:
    """``12.5`` -> ``$12.50``; amounts below a cent show as ``<$0.01`` (model costs are often fractions of one)."""
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value))
    code = (currency or MODEL_COST_CURRENCY).lower()
    symbol = SYMBOLS.get(code, "")
    suffix = "" if symbol else f" {code.upper()}"
    if Decimal(0) < amount < Decimal("0.01"):
        return f"<{symbol}0.01{suffix}"
    return f"{symbol}{amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}{suffix}"


@register.filter
def price(value: Any) -> str:
    """A plan price, in the installation's billing currency."""
    return money(value, settings.BILLING_CURRENCY)


@register.filter
def minor_money(value: Any, currency: str = "") -> str:
    """Stripe's minor units (cents) as money."""
    return money(Decimal(int(value or 0)) / 100, currency)

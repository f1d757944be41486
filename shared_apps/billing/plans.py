"""What a plan allows, and which Stripe prices belong to which plan (from settings)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from shared_apps.billing.enums import Resource
from shared_apps.billing.models import Plan


def billing_enabled() -> bool:
    """Billing is on when Stripe keys are configured; without them every team is on an unlimited plan."""
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


@dataclass(frozen=True)
class Limits:
    """A plan's limits as the enforcement sees them (None = unlimited)."""

    code: str
    name: str
    chatbots: int | None = None
    members: int | None = None
    channels: int | None = None
    ai_messages: int | None = None
    concurrent_turns: int | None = None
    price_monthly: Decimal = Decimal(0)

    @classmethod
    def of(cls, plan: Plan) -> Limits:
        return cls(
            code=plan.code,
            name=plan.name,
            chatbots=plan.max_chatbots,
            members=plan.max_members,
            channels=plan.max_channels,
            ai_messages=plan.max_ai_messages,
            concurrent_turns=plan.max_concurrent_turns,
            price_monthly=plan.price_monthly,
        )

    def of_resource(self, resource: Resource) -> int | None:
        return {
            Resource.CHATBOTS: self.chatbots,
            Resource.MEMBERS: self.members,
            Resource.CHANNELS: self.channels,
            Resource.AI_MESSAGES: self.ai_messages,
        }[resource]


# Billing off: what every team gets.
UNLIMITED = Limits(code="unlimited", name="Unlimited")


def default_plan() -> Plan | None:
    return Plan.objects.filter(is_default=True).first()


def prices_of(plan_code: str) -> tuple[str, str]:
    """The (flat, metered) Stripe price ids of a plan ('' when not configured)."""
    prices = settings.STRIPE_PRICES.get(plan_code, {})
    return prices.get("flat", ""), prices.get("metered", "")


def plan_for_prices(price_ids: list[str]) -> Plan | None:
    """The plan whose flat (or metered) price is among ``price_ids``: how a Stripe subscription maps to a plan."""
    for code, prices in settings.STRIPE_PRICES.items():
        if prices.get("flat") in price_ids or (prices.get("metered") and prices.get("metered") in price_ids):
            return Plan.objects.filter(code=code).first()
    return None


def purchasable_plans() -> list[Plan]:
    """Public plans with a configured flat price: what the billing page offers."""
    return [plan for plan in Plan.objects.filter(is_public=True) if prices_of(plan.code)[0]]

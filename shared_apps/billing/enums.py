from __future__ import annotations

from django.db import models


class SubscriptionStatus(models.TextChoices):
    """Stripe's subscription statuses (docs.stripe.com/api/subscriptions/object#subscription_object-status)."""

    INCOMPLETE = "incomplete", "Incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete (expired)"
    TRIALING = "trialing", "Trialing"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"
    UNPAID = "unpaid", "Unpaid"
    PAUSED = "paused", "Paused"


# A subscription in one of these gives its plan; any other status leaves the team on the default plan.
PLAN_GIVING = frozenset(
    {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID}
)


class PaymentState(models.TextChoices):
    """Where the team stands with its payments (computed from the subscription and the clock, never stored)."""

    OK = "ok", "In good standing"
    GRACE = "grace", "Payment failed: grace period"
    READ_ONLY = "read_only", "Payment failed: read-only"


class CapAction(models.TextChoices):
    """What a chatbot does once a spend cap is reached."""

    LIMIT_MESSAGE = "limit_message", "Answer with the limit message"
    FALLBACK_MODEL = "fallback_model", "Switch to a cheaper model"


class Resource(models.TextChoices):
    """Things a plan counts."""

    CHATBOTS = "chatbots", "chatbots"
    MEMBERS = "members", "members"
    CHANNELS = "channels", "channels"
    AI_MESSAGES = "ai_messages", "AI messages per month"


class Refusal(models.TextChoices):
    """Why a turn may not call a model (the stable reason a trace records)."""

    MESSAGE_LIMIT = "billing.message_limit", "The plan's monthly AI messages are used up"
    READ_ONLY = "billing.read_only", "Payment failed and the grace period is over"
    TEAM_SPEND_CAP = "billing.team_spend_cap", "The team's monthly model-spend cap is reached"
    CHATBOT_SPEND_CAP = "billing.chatbot_spend_cap", "This chatbot's monthly model-spend cap is reached"


class MeterEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"

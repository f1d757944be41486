"""Billing lives in ``public``: plans, each team's billing account and Stripe subscription, invoices, the usage
roll-ups the chat turn writes, processed webhook events and the meter-event outbox (docs/adr/0120-billing.md).

Chatbots are team rows, so a chatbot is referred to by its id (``chatbot_id``), never by a foreign key: public
tables must not reference team tables. Money is stored as the traces' cost is: six decimals of the currency unit.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from shared_apps.billing.enums import CapAction, MeterEventStatus, SubscriptionStatus
from tenants.models import Team

DEFAULT_LIMIT_MESSAGE = (
    "Sorry, this assistant has reached its usage limit for now and can't answer. Please try again later."
)


class Plan(models.Model):
    """A plan and its limits (empty = unlimited). Staff edit these in the admin; the Stripe price ids of each
    plan come from settings (``STRIPE_PRICES``), since they differ between Stripe's test and live modes."""

    code = models.SlugField(max_length=40, unique=True, help_text="Stable identifier, e.g. pro. Teams cache it.")
    name = models.CharField(max_length=60)
    description = models.CharField(max_length=200, blank=True)
    price_monthly = models.DecimalField(
        max_digits=10, decimal_places=2, default=Decimal(0), help_text="Shown to teams; Stripe's price is charged."
    )
    max_chatbots = models.PositiveIntegerField(null=True, blank=True, help_text="Active chatbots; empty = no limit.")
    max_members = models.PositiveIntegerField(
        null=True, blank=True, help_text="Members plus pending invitations; empty = no limit."
    )
    max_channels = models.PositiveIntegerField(null=True, blank=True, help_text="Empty = no limit.")
    max_ai_messages = models.PositiveIntegerField(
        null=True, blank=True, help_text="AI messages per billing period; empty = no limit."
    )
    max_concurrent_turns = models.PositiveIntegerField(
        null=True, blank=True, help_text="Turns in flight at once per team; empty = the installation's default."
    )
    is_default = models.BooleanField(default=False, help_text="The plan of every team without a subscription.")
    is_public = models.BooleanField(default=True, help_text="Offered on the billing page.")
    sort_order = models.PositiveIntegerField(default=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "price_monthly", "name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="plan_one_default")
        ]

    def __str__(self) -> str:
        return self.name


class BillingAccount(models.Model):
    """A team's billing: its Stripe customer (created on first need), its current plan and the owner's spend caps."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="billing_account")
    stripe_customer_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    spend_cap = models.DecimalField(null=True, blank=True, max_digits=14, decimal_places=6)
    cap_action = models.CharField(max_length=20, choices=CapAction.choices, default=CapAction.LIMIT_MESSAGE)
    fallback_provider_id = models.BigIntegerField(null=True, blank=True)  # a team LLM provider (team row)
    fallback_model = models.CharField(max_length=120, blank=True)
    limit_message = models.TextField(blank=True, default="")
    spend_alert_period = models.DateTimeField(null=True, blank=True)  # period whose 80 % email went out
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Billing of {self.team}"


class Subscription(models.Model):
    """A Stripe subscription of a team, as the last webhook (or retrieval) described it."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="subscriptions")
    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=30, choices=SubscriptionStatus.choices)
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    billing_cycle_anchor = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    payment_failed_at = models.DateTimeField(null=True, blank=True)
    failed_invoice_id = models.CharField(max_length=255, blank=True)
    stripe_updated_at = models.DateTimeField(help_text="When Stripe described this state (older events are ignored).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.stripe_subscription_id} ({self.status})"


class Invoice(models.Model):
    """An invoice of a team, recorded from ``invoice.paid`` / ``invoice.payment_failed`` (amounts in minor units)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invoices")
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=30)
    amount_due = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=10, default="usd")
    hosted_invoice_url = models.URLField(max_length=1000, blank=True)
    invoice_pdf = models.URLField(max_length=1000, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField()

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class ChatbotSpendCap(models.Model):
    """An owner's monthly model-spend cap for one chatbot (``chatbot_id`` is a team row's id)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="chatbot_spend_caps")
    chatbot_id = models.BigIntegerField()
    cap = models.DecimalField(max_digits=14, decimal_places=6)
    alert_period = models.DateTimeField(null=True, blank=True)  # period whose 80 % email went out

    class Meta:
        ordering = ["chatbot_id"]
        constraints = [models.UniqueConstraint(fields=["team", "chatbot_id"], name="chatbot_spend_cap_unique")]

    def __str__(self) -> str:
        return f"Cap {self.cap} on chatbot {self.chatbot_id} of team {self.team_id}"


class UsageDay(models.Model):
    """AI messages, model cost and tokens of a team on one UTC day: the usage chart and what is reported to
    Stripe (``reported_*`` = how much of the day's usage is already in the meter-event outbox).

    Written by the chat turn inside its one statement (``metering.usage_writes``), never by the ORM."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    ai_messages = models.IntegerField(default=0)
    model_cost = models.DecimalField(default=Decimal(0), max_digits=14, decimal_places=6)
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    reported_messages = models.IntegerField(default=0)
    reported_cost = models.DecimalField(default=Decimal(0), max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["team", "day"], name="usage_day_unique")]

    def __str__(self) -> str:
        return f"Usage of team {self.team_id} on {self.day}"


class UsagePeriod(models.Model):
    """AI messages and model cost of one chatbot of a team in one billing period: what limits and spend caps are
    checked against (the team's figures are the sum over its chatbots). Written by the chat turn like UsageDay."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    period_start = models.DateTimeField()
    chatbot_id = models.BigIntegerField()
    ai_messages = models.IntegerField(default=0)
    model_cost = models.DecimalField(default=Decimal(0), max_digits=14, decimal_places=6)

    class Meta:
        ordering = ["period_start", "chatbot_id"]
        constraints = [
            models.UniqueConstraint(fields=["team", "period_start", "chatbot_id"], name="usage_period_unique")
        ]

    def __str__(self) -> str:
        return f"Usage of chatbot {self.chatbot_id} of team {self.team_id} from {self.period_start:%Y-%m-%d}"


class WebhookEvent(models.Model):
    """A Stripe event already processed: each event id is applied once, a redelivery is acknowledged and ignored."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    received_at = models.DateTimeField(auto_now_add=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.type})"


class MeterEvent(models.Model):
    """The outbox of usage reported to Stripe: a row is written before the call, with the identifier Stripe
    de-duplicates on, so a retry after a crash resends the same event instead of a second one."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    identifier = models.CharField(max_length=100, unique=True)
    event_name = models.CharField(max_length=100)
    stripe_customer_id = models.CharField(max_length=255)
    value = models.DecimalField(max_digits=20, decimal_places=6)
    timestamp = models.DateTimeField()
    status = models.CharField(max_length=20, choices=MeterEventStatus.choices, default=MeterEventStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "team"], name="meter_event_status_team")]

    def __str__(self) -> str:
        return self.identifier

"""Writes to a team's billing: its account and Stripe customer, Checkout and Customer Portal sessions, the plan
(from Stripe's subscription or set by staff), and the owner's spend caps.

Every write calls ``snapshot.billing_changed()`` so the cached snapshots the checks read follow at once; a plan
change also updates the plan code cached on the team row (``Team.plan_code``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from shared_apps.accounts.models import User
from shared_apps.billing.enums import PLAN_GIVING, CapAction, SubscriptionStatus
from shared_apps.billing.exceptions import BillingOffError, StripeRequestError
from shared_apps.billing.models import BillingAccount, ChatbotSpendCap, Invoice, Plan, Subscription
from shared_apps.billing.plans import billing_enabled, plan_for_prices, prices_of
from shared_apps.billing.snapshot import billing_changed, current_subscription
from shared_apps.billing.stripe_api import as_dict, stripe_call
from shared_apps.core.exceptions import InvalidStateError, NotFoundError
from tenants.audit import team_audit
from tenants.context import tenant_context
from tenants.enums import Role
from tenants.models import Membership, Team
from tenants.resolver import invalidate_on_commit
from tenants.urls import team_url

logger = logging.getLogger(__name__)

MAX_SPEND_CAP = Decimal("1000000")
MAX_LIMIT_MESSAGE = 1000
BILLING_PATH = "/settings/billing/"


def account_for(*, team: Team) -> BillingAccount:
    """The team's billing account, created on first need."""
    account = BillingAccount.objects.select_related("plan").filter(team=team).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return BillingAccount.objects.create(team=team)
    except IntegrityError:  # created meanwhile by a concurrent request
        return BillingAccount.objects.select_related("plan").get(team=team)


def customer_ensure(*, team: Team) -> str:
    """The team's Stripe customer id; the customer is created in Stripe on first need and recorded here.

    Two requests racing here send the same idempotency key, so Stripe creates one customer; the conditional
    update keeps the first id recorded."""
    account = account_for(team=team)
    if account.stripe_customer_id:
        return account.stripe_customer_id
    owner = Membership.objects.filter(team=team, role=Role.OWNER).select_related("user").order_by("created_at").first()
    params: dict[str, Any] = {"name": team.name, "metadata": {"team_id": str(team.pk), "team_slug": team.slug}}
    if owner is not None:
        params["email"] = owner.user.email
    customer = stripe_call(
        "customer.create",
        lambda client: client.v1.customers.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": f"{settings.STRIPE_IDENTIFIER_PREFIX}-team-{team.pk}-customer"},
        ),
    )
    BillingAccount.objects.filter(pk=account.pk, stripe_customer_id__isnull=True).update(stripe_customer_id=customer.id)
    account.refresh_from_db()
    billing_changed()
    logger.info("billing.customer_created", extra={"team": team.slug})
    return str(account.stripe_customer_id)


def checkout_start(*, team: Team, plan_code: str, actor: User) -> str:
    """A Stripe Checkout session subscribing the team to ``plan_code`` (flat price + metered price); returns the
    page to send the browser to. A team with a running subscription changes plan in the Customer Portal."""
    if not billing_enabled():
        raise BillingOffError(code="billing.off", message="Billing is not set up on this installation.")
    plan = Plan.objects.filter(code=plan_code, is_public=True).first()
    flat, metered = prices_of(plan_code)
    if plan is None or not flat:
        raise NotFoundError(code="billing.unknown_plan", message="That plan can't be bought. Choose another one.")
    running = current_subscription(team_id=team.pk)
    if running is not None:
        raise InvalidStateError(
            code="billing.already_subscribed",
            message="This team already has a subscription. Use “Manage billing” to change the plan.",
        )
    customer = customer_ensure(team=team)
    items: list[dict[str, Any]] = [{"price": flat, "quantity": 1}]
    if metered:
        items.append({"price": metered})
    base = team_url(team, BILLING_PATH)
    metadata = {"team_id": str(team.pk), "plan": plan.code}
    session = stripe_call(
        "checkout.create",
        lambda client: client.v1.checkout.sessions.create(
            params={  # type: ignore[arg-type]
                "mode": "subscription",
                "customer": customer,
                "client_reference_id": str(team.pk),
                "line_items": items,
                "success_url": base + "checkout/done/?session_id={CHECKOUT_SESSION_ID}",
                "cancel_url": base + "?checkout=cancelled",
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
            }
        ),
    )
    team_audit(team=team, actor=actor, action="billing.checkout_started", data={"plan": plan.code})
    return str(session.url)


def portal_start(*, team: Team, actor: User) -> str:
    """A Stripe Customer Portal session (cards, invoices, plan changes, cancellation) returning to the billing page."""
    customer = customer_ensure(team=team)
    session = stripe_call(
        "portal.create",
        lambda client: client.v1.billing_portal.sessions.create(
            params={"customer": customer, "return_url": team_url(team, BILLING_PATH)}
        ),
    )
    team_audit(team=team, actor=actor, action="billing.portal_opened")
    return str(session.url)


def checkout_complete(*, team: Team, session_id: str) -> Subscription | None:
    """The browser came back from Checkout: read the session and its subscription from Stripe and apply them now,
    without waiting for the webhook (which applies the same state again, or is ignored as older)."""
    if not session_id.startswith("cs_") or len(session_id) > 255:
        raise NotFoundError(code="billing.unknown_checkout", message="That checkout session is unknown.")
    session = as_dict(stripe_call("checkout.retrieve", lambda client: client.v1.checkout.sessions.retrieve(session_id)))
    account = account_for(team=team)
    if (
        str(session.get("client_reference_id") or "") != str(team.pk)
        or session.get("customer") != account.stripe_customer_id
    ):
        raise NotFoundError(code="billing.unknown_checkout", message="That checkout session is unknown.")
    if session.get("status") != "complete" or not session.get("subscription"):
        return None
    return subscription_refresh(team=team, subscription_id=str(session["subscription"]))


def subscription_refresh(*, team: Team, subscription_id: str) -> Subscription:
    """Read a subscription from Stripe and apply it as of now, in whole seconds like Stripe's event times (an event
    created in the same second still applies: of equal times the later applied wins)."""
    data = as_dict(
        stripe_call("subscription.retrieve", lambda client: client.v1.subscriptions.retrieve(subscription_id))
    )
    return subscription_apply(team=team, data=data, described_at=timezone.now().replace(microsecond=0))


@transaction.atomic
def subscription_apply(*, team: Team, data: dict[str, Any], described_at: datetime) -> Subscription:
    """Record a Stripe subscription object as Stripe described it at ``described_at``; an older description than
    the one recorded is ignored (Stripe does not deliver events in order). Then the team's plan follows."""
    existing = Subscription.objects.select_for_update().filter(stripe_subscription_id=data["id"]).first()
    if existing is not None and described_at < existing.stripe_updated_at:
        return existing
    subscription = existing or Subscription(team=team, stripe_subscription_id=data["id"])
    before = (subscription.status, subscription.plan_id) if existing else None
    status = str(data.get("status") or SubscriptionStatus.INCOMPLETE)
    items = ((data.get("items") or {}).get("data")) or []
    prices = [str((item.get("price") or {}).get("id") or "") for item in items]
    plan = plan_for_prices(prices) or Plan.objects.filter(code=(data.get("metadata") or {}).get("plan", "")).first()
    first = items[0] if items else {}
    subscription.status = status
    subscription.plan = plan
    subscription.current_period_start = _time(first.get("current_period_start") or data.get("current_period_start"))
    subscription.current_period_end = _time(first.get("current_period_end") or data.get("current_period_end"))
    subscription.billing_cycle_anchor = _time(data.get("billing_cycle_anchor"))
    subscription.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    if status in (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING):
        subscription.payment_failed_at, subscription.failed_invoice_id = None, ""
    elif status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID) and subscription.payment_failed_at is None:
        subscription.payment_failed_at = described_at
    subscription.stripe_updated_at = described_at
    subscription.save()
    _plan_follow(team=team)
    if before != (subscription.status, subscription.plan_id):
        team_audit(
            team=team,
            actor=None,
            action="billing.subscription_changed",
            target=subscription,
            data={"status": status, "plan": plan.code if plan else None},
        )
    logger.info("billing.subscription_applied", extra={"team": team.slug, "status": status})
    return subscription


@transaction.atomic
def invoice_apply(*, team: Team, data: dict[str, Any], paid: bool, described_at: datetime) -> Invoice:
    """Record an invoice; a failed payment starts the subscription's grace period, a paid invoice ends it."""
    invoice, _ = Invoice.objects.update_or_create(
        stripe_invoice_id=data["id"],
        defaults={
            "team": team,
            "number": str(data.get("number") or "")[:100],
            "status": str(data.get("status") or ("paid" if paid else "open"))[:30],
            "amount_due": int(data.get("amount_due") or 0),
            "amount_paid": int(data.get("amount_paid") or 0),
            "currency": str(data.get("currency") or settings.BILLING_CURRENCY)[:10],
            "hosted_invoice_url": str(data.get("hosted_invoice_url") or "")[:1000],
            "invoice_pdf": str(data.get("invoice_pdf") or "")[:1000],
            "period_start": _time(data.get("period_start")),
            "period_end": _time(data.get("period_end")),
            "created": _time(data.get("created")) or described_at,
        },
    )
    subscription_id = _invoice_subscription(data)
    subscription = Subscription.objects.select_for_update().filter(stripe_subscription_id=subscription_id).first()
    if subscription is None or described_at < subscription.stripe_updated_at:
        return invoice
    if paid:
        if subscription.payment_failed_at is not None:
            team_audit(team=team, actor=None, action="billing.payment_recovered", target=invoice)
        subscription.payment_failed_at, subscription.failed_invoice_id = None, ""
        if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID):
            subscription.status = SubscriptionStatus.ACTIVE  # Stripe's own transition once the invoice is paid
    elif subscription.payment_failed_at is None:
        subscription.payment_failed_at, subscription.failed_invoice_id = described_at, invoice.stripe_invoice_id
        team_audit(team=team, actor=None, action="billing.payment_failed", target=invoice)
    subscription.stripe_updated_at = described_at
    subscription.save()
    _plan_follow(team=team)
    return invoice


def _invoice_subscription(data: dict[str, Any]) -> str:
    """The invoice's subscription id: ``parent.subscription_details.subscription`` since API 2025-03-31, before
    that a top-level ``subscription``."""
    details = ((data.get("parent") or {}).get("subscription_details")) or {}
    value = details.get("subscription") or data.get("subscription") or ""
    return str(value.get("id") if isinstance(value, dict) else value)


def _plan_follow(*, team: Team) -> None:
    """The team's plan is its current subscription's (or the default one); cached on the team row too."""
    account = account_for(team=team)
    subscription = current_subscription(team_id=team.pk)
    plan = subscription.plan if subscription is not None and subscription.status in PLAN_GIVING else None
    _plan_record(team=team, account=account, plan=plan)


def _plan_record(*, team: Team, account: BillingAccount, plan: Plan | None) -> None:
    if account.plan_id != (plan.pk if plan else None):
        account.plan = plan
        account.save(update_fields=["plan", "updated_at"])
    code = (
        plan.code if plan else (Plan.objects.filter(is_default=True).values_list("code", flat=True).first() or "free")
    )
    if team.plan_code != code:
        Team.objects.filter(pk=team.pk).update(plan_code=code)
        team.plan_code = code
        invalidate_on_commit()
    billing_changed()


@transaction.atomic
def plan_set(*, team: Team, plan_code: str, actor: User | None = None) -> BillingAccount:
    """Put the team on ``plan_code`` directly (staff and tests: ``manage.py set_plan``). A later Stripe event for
    the team's subscription sets the plan again from Stripe."""
    plan = Plan.objects.filter(code=plan_code).first()
    if plan is None:
        raise NotFoundError(code="billing.unknown_plan", message=f"There is no plan “{plan_code}”.")
    account = account_for(team=team)
    _plan_record(team=team, account=account, plan=plan)
    team_audit(team=team, actor=actor, action="billing.plan_set", data={"plan": plan.code})
    logger.info("billing.plan_set", extra={"team": team.slug, "plan": plan.code})
    return account


# ---------------------------------------------------------------------------------------------------- spend caps


def money_parse(value: Any, *, field: str = "spend_cap") -> Decimal | None:
    """A spend cap from a form: empty = none; otherwise more than 0 and at most MAX_SPEND_CAP, in cents."""
    text = str(value if value is not None else "").strip().replace(",", "")
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidStateError(
            code="billing.bad_amount", message="Enter an amount such as 25 or 12.50.", extra={"field": field}
        ) from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_SPEND_CAP:
        raise InvalidStateError(
            code="billing.bad_amount",
            message=f"Enter an amount above 0 and at most {MAX_SPEND_CAP:,}.",
            extra={"field": field},
        )
    return amount.quantize(Decimal("0.01"))


@transaction.atomic
def spend_caps_update(
    *,
    team: Team,
    actor: User,
    spend_cap: Decimal | None,
    cap_action: str,
    fallback_provider_id: int | None = None,
    fallback_model: str = "",
    limit_message: str = "",
) -> BillingAccount:
    """The owner's team cap, what happens at 100 % (limit message or a cheaper model of the team's providers) and
    the limit message. The fallback model must be one the team can use now."""
    if cap_action not in CapAction.values:
        raise InvalidStateError(code="billing.bad_cap_action", message="Choose what happens when the cap is reached.")
    limit_message = limit_message.strip()
    if len(limit_message) > MAX_LIMIT_MESSAGE:
        raise InvalidStateError(
            code="billing.limit_message_too_long",
            message=f"Keep the limit message under {MAX_LIMIT_MESSAGE} characters.",
        )
    fallback_model = fallback_model.strip()
    if cap_action == CapAction.FALLBACK_MODEL:
        if fallback_provider_id is None or not fallback_model:
            raise InvalidStateError(code="billing.fallback_required", message="Choose the cheaper model to switch to.")
        if (fallback_provider_id, fallback_model) not in {
            (provider_id, model) for provider_id, _name, models in model_choices(team=team) for model in models
        }:
            raise InvalidStateError(
                code="billing.fallback_unknown", message="That model is not available to this team. Choose another one."
            )
    else:
        fallback_provider_id, fallback_model = None, ""
    account = BillingAccount.objects.select_for_update().get(pk=account_for(team=team).pk)
    account.spend_cap = spend_cap
    account.cap_action = cap_action
    account.fallback_provider_id = fallback_provider_id
    account.fallback_model = fallback_model
    account.limit_message = limit_message
    account.save()
    billing_changed()
    team_audit(
        team=team,
        actor=actor,
        action="billing.spend_cap_changed",
        data={"spend_cap": str(spend_cap) if spend_cap is not None else None, "cap_action": cap_action},
    )
    return account


@transaction.atomic
def chatbot_cap_set(*, team: Team, actor: User, chatbot_id: int, cap: Decimal | None) -> ChatbotSpendCap | None:
    """Set (or with ``cap=None`` remove) the monthly spend cap of one of the team's chatbots."""
    if chatbot_id not in {pk for pk, _name in chatbot_choices(team=team)}:
        raise NotFoundError(code="billing.unknown_chatbot", message="That chatbot doesn't exist in this team.")
    if cap is None:
        ChatbotSpendCap.objects.filter(team=team, chatbot_id=chatbot_id).delete()
        result = None
    else:
        result, _ = ChatbotSpendCap.objects.update_or_create(team=team, chatbot_id=chatbot_id, defaults={"cap": cap})
    billing_changed()
    team_audit(
        team=team,
        actor=actor,
        action="billing.chatbot_cap_changed",
        data={"chatbot_id": chatbot_id, "cap": str(cap) if cap is not None else None},
    )
    return result


def chatbot_choices(*, team: Team) -> list[tuple[int, str]]:
    """The team's active chatbots (id, name), read in its schema through ``BILLING_CHATBOT_CHOICES``."""
    with tenant_context(team):
        return [(int(pk), str(name)) for pk, name in import_string(settings.BILLING_CHATBOT_CHOICES)()]


def model_choices(*, team: Team) -> list[tuple[int, str, list[str]]]:
    """The team's LLM providers and their models (provider id, provider name, model names)."""
    with tenant_context(team):
        return [
            (int(pk), str(name), list(models)) for pk, name, models in import_string(settings.BILLING_MODEL_CHOICES)()
        ]


def _time(value: Any) -> datetime | None:
    if value in (None, "", 0):
        return None
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        raise StripeRequestError(code="billing.bad_stripe_object", message="Stripe sent an unreadable time.") from None

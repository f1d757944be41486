"""Reads for the billing page and the banner: the plan, usage against each limit, spend against the caps, the
usage chart by day and the invoices."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from shared_apps.billing.alerts import ALERT_RATIO
from shared_apps.billing.enforcement import resource_count
from shared_apps.billing.enums import PaymentState, Resource
from shared_apps.billing.metering import UsageCounters, usage_counters
from shared_apps.billing.models import BillingAccount, Invoice, Plan, Subscription, UsageDay, UsagePeriod
from shared_apps.billing.plans import Limits, purchasable_plans
from shared_apps.billing.services import chatbot_choices
from shared_apps.billing.snapshot import TeamBilling, current_subscription, team_billing
from tenants.models import Team


@dataclass(frozen=True)
class Meter:
    """One limit on the page: used of limit (None = unlimited), as a percentage for the progress bar."""

    label: str
    used: int | Decimal
    limit: int | Decimal | None
    money: bool = False

    @property
    def percent(self) -> int:
        if not self.limit:
            return 0
        return min(100, int(Decimal(self.used) * 100 / Decimal(self.limit)))

    @property
    def level(self) -> str:
        """For the bar's colour: ok, warning (80 %), full."""
        if self.limit is None:
            return "ok"
        if Decimal(self.used) >= Decimal(self.limit):
            return "full"
        return "warning" if Decimal(self.used) >= Decimal(self.limit) * ALERT_RATIO else "ok"


@dataclass(frozen=True)
class ChartDay:
    day: date
    ai_messages: int
    cost: Decimal
    height: int  # percent of the busiest day


@dataclass(frozen=True)
class ChatbotCapLine:
    chatbot_id: int
    name: str
    cap: Decimal | None
    spent: Decimal

    @property
    def meter(self) -> Meter:
        return Meter(label=self.name, used=self.spent, limit=self.cap, money=True)


@dataclass
class Overview:
    billing: TeamBilling
    account: BillingAccount
    subscription: Subscription | None
    payment_state: PaymentState
    period_start: datetime
    period_end: datetime
    usage: UsageCounters
    meters: list[Meter]
    spend: Meter | None
    chart: list[ChartDay]
    chatbots: list[ChatbotCapLine]
    plans: list[Plan] = field(default_factory=list)

    @property
    def limits(self) -> Limits:
        return self.billing.limits

    @property
    def chatbots_truncated(self) -> bool:
        return len(self.chatbots) >= MAX_CHATBOT_LINES


def account_get(*, team: Team) -> BillingAccount:
    """The team's billing account, or an unsaved one with the defaults (reading never creates it)."""
    return BillingAccount.objects.select_related("plan").filter(team=team).first() or BillingAccount(team=team)


def billing_overview(*, team: Team, now: datetime | None = None) -> Overview:
    now = now or timezone.now()
    billing = team_billing(team.pk)
    start, end = billing.period(now)
    usage = usage_counters(team_id=team.pk, period_start=start)
    limits = billing.limits
    meters = [
        Meter(label="AI messages this period", used=usage.ai_messages, limit=limits.ai_messages),
        Meter(
            label="Active chatbots", used=resource_count(team=team, resource=Resource.CHATBOTS), limit=limits.chatbots
        ),
        Meter(
            label="Members and pending invitations",
            used=resource_count(team=team, resource=Resource.MEMBERS),
            limit=limits.members,
        ),
    ]
    spend = Meter(label="Model spend this period", used=usage.cost, limit=billing.spend_cap, money=True)
    return Overview(
        billing=billing,
        account=account_get(team=team),
        subscription=current_subscription(team_id=team.pk),
        payment_state=billing.payment_state(now),
        period_start=start,
        period_end=end,
        usage=usage,
        meters=meters,
        spend=spend,
        chart=usage_chart(team=team, start=start.date(), end=min(end, now).date()),
        chatbots=chatbot_cap_lines(team=team, billing=billing, period_start=start),
        plans=purchasable_plans(),
    )


def usage_chart(*, team: Team, start: date, end: date) -> list[ChartDay]:
    """AI messages and model cost per UTC day from ``start`` to ``end`` (inclusive, at most 62 days), zeros for
    days without usage."""
    end = max(start, min(end, start + timedelta(days=61)))
    rows = {row.day: row for row in UsageDay.objects.filter(team=team, day__gte=start, day__lte=end).order_by("day")}
    busiest = max((row.ai_messages for row in rows.values()), default=0)
    days = []
    day = start
    while day <= end:
        row = rows.get(day)
        messages = row.ai_messages if row else 0
        days.append(
            ChartDay(
                day=day,
                ai_messages=messages,
                cost=row.model_cost if row else Decimal(0),
                height=int(messages * 100 / busiest) if busiest else 0,
            )
        )
        day += timedelta(days=1)
    return days


MAX_CHATBOT_LINES = 200


def chatbot_cap_lines(*, team: Team, billing: TeamBilling, period_start: datetime) -> list[ChatbotCapLine]:
    """The active chatbots (the first ``MAX_CHATBOT_LINES`` by name) with their cap and model spend this period."""
    spent = dict(
        UsagePeriod.objects.filter(team=team, period_start=period_start).values_list("chatbot_id", "model_cost")
    )
    return [
        ChatbotCapLine(chatbot_id=pk, name=name, cap=billing.chatbot_caps.get(pk), spent=spent.get(pk, Decimal(0)))
        for pk, name in chatbot_choices(team=team)[:MAX_CHATBOT_LINES]
    ]


def invoice_list(*, team: Team) -> QuerySet[Invoice]:
    return Invoice.objects.filter(team=team).order_by("-created", "-id")


@dataclass(frozen=True)
class Banner:
    level: str  # info, warning, error
    text: str
    link: bool = True  # link to the billing page (for those who can open it)


def billing_banners(*, team: Team, is_admin: bool, is_owner: bool, now: datetime | None = None) -> list[Banner]:
    """What the team's pages show at the top: payment trouble (grace, read-only) and, to owners, spend at 80 %."""
    now = now or timezone.now()
    billing = team_billing(team.pk)
    banners: list[Banner] = []
    state = billing.payment_state(now)
    if state == PaymentState.GRACE:
        ends = billing.grace_ends_at()
        assert ends is not None
        banners.append(
            Banner(
                level="warning",
                text=(
                    f"The last payment failed. Update the payment method before {ends.astimezone(UTC):%b %-d, %Y}; "
                    "after that chatbots stop answering until the invoice is paid."
                )
                if is_admin
                else "The team's last payment failed; an owner or admin needs to update the payment method.",
                link=is_admin,
            )
        )
    elif state == PaymentState.READ_ONLY:
        banners.append(
            Banner(
                level="error",
                text=(
                    "Payment overdue: the team is read-only and chatbots answer with the limit message until the "
                    "invoice is paid."
                ),
                link=is_admin,
            )
        )
    if is_owner and (billing.spend_cap is not None or billing.chatbot_caps):
        start = billing.period(now)[0]
        team_usage = usage_counters(team_id=team.pk, period_start=start)
        if billing.spend_cap is not None and team_usage.cost >= billing.spend_cap * ALERT_RATIO:
            percent = int(team_usage.cost * 100 / billing.spend_cap)
            banners.append(Banner(level="warning", text=f"Model spend is at {percent} % of this month's cap."))
        if billing.chatbot_caps:
            spent = dict(
                UsagePeriod.objects.filter(
                    team=team, period_start=start, chatbot_id__in=list(billing.chatbot_caps)
                ).values_list("chatbot_id", "model_cost")
            )
            near = [pk for pk, cap in billing.chatbot_caps.items() if spent.get(pk, Decimal(0)) >= cap * ALERT_RATIO]
            if near:
                banners.append(
                    Banner(level="warning", text=f"{len(near)} chatbot(s) reached 80 % of their spend cap this month.")
                )
    return banners

"""Spend-cap alerts: when a team's (or one chatbot's) model spend in the period reaches 80 % of its cap, the
team's owners are emailed once per period. A conditional update of the period the alert went out for makes
"once" hold when two sweeps overlap; the email leaves after commit."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from shared_apps.billing.metering import usage_counters
from shared_apps.billing.models import BillingAccount, ChatbotSpendCap
from shared_apps.billing.services import BILLING_PATH, chatbot_choices
from shared_apps.billing.snapshot import team_billing
from shared_apps.core.mail import render_subject, render_text
from tenants.enums import Role, TeamStatus
from tenants.models import Membership, Team
from tenants.urls import team_url

logger = logging.getLogger(__name__)

ALERT_RATIO = Decimal("0.8")


@dataclass(frozen=True)
class SpendAlert:
    team: Team
    cap: Decimal
    spent: Decimal
    chatbot_name: str = ""  # empty: the team's cap


def spend_alerts_send(*, now: datetime | None = None) -> int:
    """Email owners of every team (or chatbot) that reached 80 % of its cap this period and was not told yet."""
    now = now or timezone.now()
    sent = 0
    for account in BillingAccount.objects.filter(
        spend_cap__isnull=False, team__status=TeamStatus.ACTIVE
    ).select_related("team"):
        start = team_billing(account.team_id).period(now)[0]
        spent = usage_counters(team_id=account.team_id, period_start=start).cost
        assert account.spend_cap is not None
        if spent >= account.spend_cap * ALERT_RATIO and _claim(
            BillingAccount.objects.filter(pk=account.pk), "spend_alert_period", start
        ):
            _send(SpendAlert(team=account.team, cap=account.spend_cap, spent=spent))
            sent += 1
    for cap in ChatbotSpendCap.objects.filter(team__status=TeamStatus.ACTIVE).select_related("team"):
        start = team_billing(cap.team_id).period(now)[0]
        spent = usage_counters(team_id=cap.team_id, period_start=start, chatbot_id=cap.chatbot_id).chatbot_cost
        if spent >= cap.cap * ALERT_RATIO and _claim(ChatbotSpendCap.objects.filter(pk=cap.pk), "alert_period", start):
            name = dict(chatbot_choices(team=cap.team)).get(cap.chatbot_id, f"Chatbot {cap.chatbot_id}")
            _send(SpendAlert(team=cap.team, cap=cap.cap, spent=spent, chatbot_name=name))
            sent += 1
    return sent


def _claim(rows: object, field: str, period_start: datetime) -> bool:
    """Mark the alert as sent for this period; False when another sweep already did."""
    return bool(rows.exclude(**{field: period_start}).update(**{field: period_start}))  # type: ignore[attr-defined]


def _send(alert: SpendAlert) -> None:
    owners = list(
        Membership.objects.filter(team=alert.team, role=Role.OWNER)
        .values_list("user__email", flat=True)
        .order_by("user__email")
    )
    if not owners:
        return
    percent = int(alert.spent * 100 / alert.cap) if alert.cap else 100
    context = {
        "team": alert.team,
        "alert": alert,
        "percent": percent,
        "billing_url": team_url(alert.team, BILLING_PATH),
        "site_name": settings.SITE_NAME,
    }
    subject = render_subject("billing/email/spend_alert_subject.txt", context)  # plain text, not HTML-escaped
    message = EmailMultiAlternatives(
        subject=subject, body=render_text("billing/email/spend_alert_message.txt", context), to=owners
    )
    message.attach_alternative(render_to_string("billing/email/spend_alert_message.html", context), "text/html")
    transaction.on_commit(message.send)
    logger.info(
        "billing.spend_alert", extra={"team": alert.team.slug, "chatbot": alert.chatbot_name, "percent": percent}
    )

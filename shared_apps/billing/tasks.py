"""Celery adapters for billing (all in public: billing tables live there). Each task calls one service."""

from __future__ import annotations

from config.celery import Queue, app
from shared_apps.billing import alerts, reporting


@app.task(name="shared_apps.billing.tasks.usage_report_dispatch_task", queue=Queue.MAINTENANCE)
def usage_report_dispatch_task() -> int:
    """Beat entry point: one report task per team with usage not yet sent to Stripe."""
    team_ids = reporting.teams_with_usage_to_report()
    for team_id in team_ids:
        usage_report_task.delay(team_id=team_id)
    return len(team_ids)


@app.task(name="shared_apps.billing.tasks.usage_report_task", queue=Queue.MAINTENANCE, acks_late=True)
def usage_report_task(*, team_id: int) -> int:
    """Report one team's new usage as Stripe meter events. Idempotent: identifiers make a resend a no-op."""
    return reporting.usage_report(team_id=team_id)


@app.task(name="shared_apps.billing.tasks.spend_alerts_task", queue=Queue.MAINTENANCE, acks_late=True)
def spend_alerts_task() -> int:
    """Email owners whose team or chatbot reached 80 % of a spend cap this period (once per period)."""
    return alerts.spend_alerts_send()

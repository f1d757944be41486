"""Celery adapters for pipelines: one service call each."""

from __future__ import annotations

from config.celery import Queue, app
from tenant_apps.pipelines import emails


@app.task(
    name="tenant_apps.pipelines.tasks.pipeline_email_send_task",
    queue=Queue.PIPELINES,
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def pipeline_email_send_task(*, email_id: int) -> None:
    """Send one queued pipeline email (runs in the team's schema). Idempotent: a sent email is skipped."""
    emails.pipeline_email_send(email_id=email_id)

"""Celery adapters for channels: each calls ``outbound``, which never enqueues."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from config.celery import Queue, app
from tenant_apps.channels import outbound


@app.task(
    name="tenant_apps.channels.tasks.reply_send_task",
    bind=True,
    queue=Queue.CHAT,
    acks_late=True,
    ignore_result=True,
    autoretry_for=(outbound.TransientSendError,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=settings.CHANNEL_SEND_MAX_RETRIES,
)
def reply_send_task(self: Any, *, message_id: int) -> None:
    """Send one reply through its channel; transient failures come back with growing delays (never blocking a
    chat worker: a retry is a new message on the queue), the last attempt records the failure."""
    outbound.reply_send(message_id=message_id, final_attempt=self.request.retries >= self.max_retries)

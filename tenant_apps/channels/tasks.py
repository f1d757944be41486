"""Celery adapters for channels: each calls ``outbound``, which never enqueues."""

from __future__ import annotations

import random
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
    max_retries=settings.CHANNEL_SEND_MAX_RETRIES,
)
def reply_send_task(self: Any, *, message_id: int) -> None:
    """Send one reply through its channel; transient failures come back with growing delays, or after the
    platform's ``Retry-After`` when it gave one (never blocking a chat worker: a retry is a new message on the
    queue); the last attempt records the failure."""
    try:
        outbound.reply_send(message_id=message_id, final_attempt=self.request.retries >= self.max_retries)
    except outbound.TransientSendError as exc:
        raise self.retry(
            exc=exc, countdown=retry_countdown(self.request.retries, exc.extra.get("retry_after"))
        ) from exc


def retry_countdown(retries: int, retry_after: Any = None) -> float:
    """Seconds before the next attempt: the platform's ``Retry-After`` (capped), else 2, 4, 8 … 300 with jitter."""
    try:
        asked = float(retry_after) if retry_after is not None else None
    except (TypeError, ValueError):
        asked = None
    if asked is not None and asked >= 0:
        return min(asked, MAX_RETRY_AFTER_SECONDS)
    jitter = random.uniform(0.5, 1.0)  # noqa: S311 (spreading retries, not a secret)
    return jitter * min(2 ** (retries + 1), MAX_BACKOFF_SECONDS)


MAX_BACKOFF_SECONDS = 300
MAX_RETRY_AFTER_SECONDS = 3600

"""Celery adapters for conversations: each calls ``turns`` or ``exports``, which never enqueue a task (``ingress``
and ``services`` enqueue these after commit)."""

from __future__ import annotations

from typing import Any

from config.celery import Queue, app
from shared_apps.core.exceptions import RetryableProviderError
from tenant_apps.conversations import exports, turns
from tenant_apps.conversations.turn_slots import TeamAtCapacityError, requeue_countdown
from tenants.tasks import enqueue_for_each_active_team


@app.task(
    name="tenant_apps.conversations.tasks.turn_process_task",
    bind=True,
    queue=Queue.CHAT,
    acks_late=True,
    ignore_result=True,  # the reply is in the database; a result-backend write per turn would be waste
    autoretry_for=(RetryableProviderError,),
    retry_backoff=2,
    retry_backoff_max=30,
    max_retries=3,
)
def turn_process_task(self: Any, *, message_id: int, queued: int = 0) -> None:
    """Answer one participant message (in the schema stamped on the task). Redeliveries never double-reply;
    a passing provider failure is retried with backoff, and the last attempt answers with an apology. A turn whose
    team is at its in-flight cap goes back on the queue for a moment (``queued``: how often so far; ADR 0090 §8)."""
    try:
        turns.turn_process_in_slot(message_id=message_id, final_attempt=self.request.retries >= self.max_retries)
    except TeamAtCapacityError:
        self.apply_async(
            kwargs={"message_id": message_id, "queued": queued + 1},
            countdown=requeue_countdown(queued),
            retries=self.request.retries,  # waiting for a slot is not a failed attempt
        )


@app.task(name="tenant_apps.conversations.tasks.turns_requeue_dispatch_task", queue=Queue.MAINTENANCE)
def turns_requeue_dispatch_task() -> int:
    """Beat entry point (public): one sweep for stuck turns per active team, each in its own schema."""
    return enqueue_for_each_active_team(turns_requeue_task)


@app.task(name="tenant_apps.conversations.tasks.turns_requeue_task", queue=Queue.MAINTENANCE)
def turns_requeue_task() -> int:
    """Re-enqueue the current team's turns whose enqueue or worker was lost (see turns.turns_requeue_stuck)."""
    return turns.turns_requeue_stuck(enqueue=lambda message_id: turn_process_task.delay(message_id=message_id))


@app.task(name="tenant_apps.conversations.tasks.session_export_task", queue=Queue.MAINTENANCE, acks_late=True)
def session_export_task(*, export_id: int) -> None:
    """Write the CSV of an export's filtered sessions, updating its progress as it goes."""
    exports.export_run(export_id=export_id)

"""Celery adapters for conversations: each calls ``turns`` or ``exports``, which never enqueue a task (``ingress``
and ``services`` enqueue these after commit)."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_ready
from django.conf import settings

from config.celery import Queue, app
from shared_apps.core.exceptions import RetryableProviderError
from tenant_apps.conversations import exports, turn_leases, turns
from tenant_apps.conversations.turn_slots import TeamAtCapacityError, requeue_countdown
from tenants.context import tenant_context
from tenants.models import Team
from tenants.resolver import team_for_schema
from tenants.tasks import enqueue_for_each_active_team

# Celery's limits sit behind the turn's own (ADR 0065): the soft one for a turn stuck outside its pipeline (its store
# gets this long), the hard one ends the process (prefork) or the greenlet (gevent).
TURN_STORE_GRACE_SECONDS = 10


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
    soft_time_limit=settings.CHAT_TURN_SOFT_LIMIT + TURN_STORE_GRACE_SECONDS,
    time_limit=settings.CHAT_TURN_HARD_LIMIT,
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


def _turn_enqueue_in(schema: str, message_id: int) -> None:
    try:
        team = team_for_schema(schema)
    except Team.DoesNotExist:
        return  # the team is gone
    with tenant_context(team):
        turn_process_task.delay(message_id=message_id)


@worker_ready.connect(weak=False, dispatch_uid="turn_lease_sweeper")
def _lease_sweeper_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that consumes ``chat`` sweeps lapsed turn leases from its start, so the turns of a worker that died
    run again within seconds of any chat worker running (ADR 0065)."""
    queues = {queue.name for queue in getattr(getattr(sender, "task_consumer", None), "queues", ())}
    if Queue.CHAT in queues:
        turn_leases.sweeper_start(enqueue=_turn_enqueue_in)

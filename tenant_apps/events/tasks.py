"""Celery adapters for events: each calls one function of a module that enqueues nothing (``ticks``, ``firing``,
``broadcasts``). ``listeners`` and ``services`` enqueue these after commit."""

from __future__ import annotations

from config.celery import Queue, app
from tenant_apps.events import broadcasts, firing, ticks
from tenants.tasks import enqueue_for_each_active_team


@app.task(name="tenant_apps.events.tasks.events_tick_dispatch_task", queue=Queue.MAINTENANCE, ignore_result=True)
def events_tick_dispatch_task() -> int:
    """Beat entry point (public): one tick per active team, each in its own schema. Teams are listed at every
    tick, so a team created since beat started is included and a suspended one is skipped."""
    return enqueue_for_each_active_team(events_tick_task)


@app.task(
    name="tenant_apps.events.tasks.events_tick_task",
    queue=Queue.MAINTENANCE,
    ignore_result=True,
    expires=60,  # a tick still queued a minute later is superseded by newer ones
    time_limit=300,
)
def events_tick_task() -> dict[str, int]:
    """Send the current team's due scheduled messages and fire its due timeout triggers."""
    return ticks.tick()


@app.task(name="tenant_apps.events.tasks.event_handle_task", queue=Queue.CHAT, acks_late=True, ignore_result=True)
def event_handle_task(
    *, session_id: int, kind: str, message_id: int | None = None, end_reason: str | None = None
) -> int:
    """Fire the triggers one conversation event calls for (see ``firing.event_handle``)."""
    return firing.event_handle(session_id=session_id, kind=kind, message_id=message_id, end_reason=end_reason)


@app.task(
    name="tenant_apps.events.tasks.broadcast_run_task",
    queue=Queue.MAINTENANCE,
    acks_late=True,
    ignore_result=True,
    time_limit=6 * 3600,
)
def broadcast_run_task(*, broadcast_id: int) -> None:
    """Send a broadcast to its recipients, throttled per channel; a redelivery resumes where it stopped."""
    broadcasts.broadcast_run(broadcast_id=broadcast_id)

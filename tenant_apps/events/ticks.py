"""One team's scheduler tick (``events_tick_task``, fanned out by beat to every active team).

Most ticks find nothing: one statement asks whether anything is due (two partial-index probes), and only then are
the due scheduled messages and timeout watches claimed and run (``scheduling``, ``firing``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from tenant_apps.events import clock, firing, scheduling
from tenant_apps.events.enums import ScheduleStatus
from tenant_apps.events.models import ScheduledMessage, TimeoutWatch

_DUE_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {ScheduledMessage._meta.db_table} WHERE status = %s AND next_run_at <= %s),"  # noqa: S608
    f" EXISTS (SELECT 1 FROM {TimeoutWatch._meta.db_table} WHERE due_at IS NOT NULL AND due_at <= %s)"
)


def anything_due(*, now: datetime) -> tuple[bool, bool]:
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL, [ScheduleStatus.ACTIVE, now, now])
        scheduled, timeouts = cursor.fetchone()
    return bool(scheduled), bool(timeouts)


def tick(*, now: datetime | None = None) -> dict[str, int]:
    """Run what is due in the current team. Returns counts (for logs and tests)."""
    now = now or clock.now()
    scheduled_due, timeouts_due = anything_due(now=now)
    return {
        "scheduled": scheduling.scheduled_run_due(now=now) if scheduled_due else 0,
        "timeouts": firing.timeouts_run_due(now=now) if timeouts_due else 0,
    }

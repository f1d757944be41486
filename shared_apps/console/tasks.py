"""Celery adapters of the console: roll-up refresh (beat fans out one per team), the pending-migrations check."""

from __future__ import annotations

import json
import time

from config.celery import Queue, app
from shared_apps.console import collectors
from shared_apps.console.heartbeats import pending_migrations_key
from shared_apps.console.services import team_rollup_write
from shared_apps.core.db import connection
from shared_apps.core.redis import get_redis
from tenants.context import public_context
from tenants.tasks import enqueue_for_each_active_team


@app.task(name="shared_apps.console.tasks.team_rollup_dispatch_task", queue=Queue.MAINTENANCE)
def team_rollup_dispatch_task() -> int:
    """Beat (public): one roll-up refresh per active team, each in its own schema."""
    return enqueue_for_each_active_team(team_rollup_refresh_task)


@app.task(name="shared_apps.console.tasks.team_rollup_refresh_task", queue=Queue.MAINTENANCE)
def team_rollup_refresh_task() -> None:
    """Copy the current team's figures (chatbots, sessions, last activity) to its public roll-up row."""
    team = connection.tenant
    figures = collectors.collect()
    with public_context():
        team_rollup_write(team_id=team.pk, figures=figures)


@app.task(name="shared_apps.console.tasks.pending_migrations_check_task", queue=Queue.MAINTENANCE)
def pending_migrations_check_task() -> int:
    """Which team schemas miss migrations (one small query per schema, so it runs here, not in a request)."""
    from tenants import migrating

    started = time.monotonic()
    schemas = migrating.team_schemas()
    pending = migrating.schemas_with_pending(schemas)
    report = {"at": time.time(), "checked": len(schemas), "pending": pending[:200], "count": len(pending)}
    report["seconds"] = round(time.monotonic() - started, 2)
    get_redis().set(pending_migrations_key(), json.dumps(report))
    return len(pending)


@app.task(name="shared_apps.console.tasks.status_heartbeats_task", queue=Queue.MAINTENANCE)
def status_heartbeats_task() -> int:
    """Beat: ping the configured uptime-monitor heartbeat URLs while the platform is operational."""
    from shared_apps.console.status import heartbeats_ping

    return heartbeats_ping()

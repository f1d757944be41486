"""Celery adapters for team lifecycle work. Each task calls one function of ``tenants.lifecycle`` or
``tenants.exports``, which never enqueue a task (the services that enqueue these import this module)."""

from __future__ import annotations

from typing import Any

from config.celery import Queue, app
from shared_apps.core.db import connection
from tenants import exports, lifecycle, migrating, provisioning
from tenants.context import tenant_context
from tenants.models import Team


@app.task(name="tenants.tasks.team_provision_task", queue=Queue.MAINTENANCE, acks_late=True)
def team_provision_task(*, team_id: int) -> str:
    """Build a new team's schema (runs in public). Idempotent: a second delivery finds the team active."""
    return lifecycle.team_provision(team_id=team_id).status


@app.task(name="tenants.tasks.team_spares_refill_task", queue=Queue.MAINTENANCE)
def team_spares_refill_task() -> int:
    """Keep ``TEAM_SPARE_SCHEMAS`` spare schemas built for this code (runs in public; beat and after each signup)."""
    return provisioning.spares_refill()


@app.task(name="tenants.tasks.team_delete_task", queue=Queue.MAINTENANCE, acks_late=True)
def team_delete_task(*, team_id: int) -> None:
    """Drop a team's schema and rows after a confirmed deletion (runs in public)."""
    team = Team.objects.filter(pk=team_id).first()
    if team is not None:
        lifecycle.team_delete(team=team)


@app.task(name="tenants.tasks.team_export_task", queue=Queue.MAINTENANCE, acks_late=True)
def team_export_task(*, export_id: int) -> str:
    """Archive a team's schema (``pg_dump -n``, gzip) for download. Idempotent: a finished export is kept."""
    return exports.team_export_run(export_id=export_id).status


def enqueue_for_each_active_team(task: Any) -> int:
    """Beat fan-out: enqueue ``task`` (no arguments) once per active team, each stamped with its team's schema."""
    count = 0
    for team in Team.objects.active().only("pk", "schema_name", "slug", "name", "status"):
        with tenant_context(team):
            task.delay()
        count += 1
    return count


@app.task(name="tenants.tasks.team_storage_refresh_dispatch_task", queue=Queue.MAINTENANCE)
def team_storage_refresh_dispatch_task() -> int:
    """Beat entry point (public): one storage refresh per active team, each in its own schema."""
    return enqueue_for_each_active_team(team_storage_refresh_task)


@app.task(name="tenants.tasks.team_storage_refresh_task", queue=Queue.MAINTENANCE)
def team_storage_refresh_task() -> int:
    """Record how many bytes the current team's schema occupies (runs in the team's schema)."""
    schema = connection.schema_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            [schema],
        )
        size = int(cursor.fetchone()[0])
    Team.objects.filter(schema_name=schema).update(storage_bytes=size)
    return size


@app.task(name="tenants.tasks.team_schemas_check_task", queue=Queue.MAINTENANCE)
def team_schemas_check_task() -> dict[str, int]:
    """Beat (public): the deploy gate's full check; drift is logged as errors and the ledger repaired."""
    report = migrating.schemas_check()
    return {
        "checked": report.checked,
        "ledger_drift": len(report.ledger_drift),
        "structure_drift": len(report.structure_drift),
    }

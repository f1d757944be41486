"""Test-only tasks that report what a real worker sees (schema and rows). A test tool, not product code."""

from django.db import connection

from config.celery import Queue, app


@app.task(queue=Queue.MAINTENANCE, name="tests.audit_actions")
def audit_actions_task() -> dict:
    from tenant_apps.audit.models import AuditEvent

    # Only the marker rows the isolation tests write: other committed tests of the run may leave audit rows behind.
    actions = AuditEvent.objects.filter(action__endswith=".only").values_list("action", flat=True)
    return {"schema": connection.schema_name, "actions": sorted(actions)}

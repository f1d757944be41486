from __future__ import annotations

from django.db.models import QuerySet

from tenant_apps.audit.models import AuditEvent


def audit_event_list(*, action_prefix: str = "") -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.select_related("actor")
    return qs.filter(action__startswith=action_prefix) if action_prefix else qs

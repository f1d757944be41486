from __future__ import annotations

from typing import Any

from django.db import models

from tenant_apps.audit.models import AuditEvent


def audit_record(
    *, actor: Any | None, action: str, target: models.Model | None = None, data: dict[str, Any] | None = None
) -> AuditEvent:
    """Append one event to the active team's audit log. ``data`` must not hold secrets (names and ids only).

    ``actor`` is a user, None (the system), or a non-person principal such as an API key (kept as a label).
    """
    is_user = isinstance(actor, models.Model) and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if is_user else None,
        actor_label=str(getattr(actor, "email", "") or actor or "")[:254],
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        data=data or {},
    )

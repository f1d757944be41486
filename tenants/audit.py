"""Write to a team's audit log from public code.

The audit log lives in each team's schema (``tenant_apps.audit``), and shared code may not import tenant code
(import contract). Services in ``tenants`` therefore record through the dotted path in ``TEAM_AUDIT_RECORDER``,
the same late binding ``TEAM_SETUP_HOOKS`` uses. The event is written inside the caller's transaction, so a
change and its audit row commit or roll back together.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.module_loading import import_string

from shared_apps.core.db import connection
from tenants.context import tenant_context
from tenants.enums import TeamStatus
from tenants.models import Team


@cache
def _recorder() -> Any:
    return import_string(settings.TEAM_AUDIT_RECORDER) if settings.TEAM_AUDIT_RECORDER else None


def team_audit(
    *, team: Team, actor: Any | None, action: str, target: models.Model | None = None, data: dict | None = None
) -> None:
    """Append ``action`` to ``team``'s audit log (a no-op for a team whose schema is not built yet)."""
    recorder = _recorder()
    if recorder is None or team.status not in (TeamStatus.ACTIVE, TeamStatus.SUSPENDED):
        return
    if connection.schema_name == team.schema_name:
        recorder(actor=actor, action=action, target=target, data=data or {})
        return
    with tenant_context(team):
        recorder(actor=actor, action=action, target=target, data=data or {})

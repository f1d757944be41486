"""Team data export: ask for an archive of the team's schema (docs/adr/0014-team-export.md). The archive itself is
written by ``team_export_task`` (``tenants.exports.team_export_run``)."""

from __future__ import annotations

from django.db import transaction

from shared_apps.accounts.models import User
from shared_apps.core.ratelimit import rate_limit_enforce
from tenants import tasks
from tenants.audit import team_audit
from tenants.context import public_context
from tenants.enums import ExportStatus, Role
from tenants.models import Team, TeamExport
from tenants.services.guards import role_require


@transaction.atomic
def team_export_request(*, team: Team, actor: User) -> tuple[TeamExport, bool]:
    """Queue an archive of the team's schema; returns (export, created). One export at a time per team."""
    role_require(user=actor, team=team, role=Role.ADMIN, action="export the team's data")
    running = TeamExport.objects.filter(team=team, status__in=[ExportStatus.PENDING, ExportStatus.RUNNING]).first()
    if running is not None:
        return running, False
    rate_limit_enforce(scope="team.export", ident=str(team.pk))
    export = TeamExport.objects.create(team=team, requested_by=actor)
    team_audit(team=team, actor=actor, action="team.export_requested", target=export)
    export_id = export.pk

    def enqueue() -> None:
        with public_context():
            tasks.team_export_task.delay(export_id=export_id)

    transaction.on_commit(enqueue)
    return export, True

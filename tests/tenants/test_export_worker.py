"""The export task through a real worker: queued from a team request, it runs in public and writes the archive."""

import gzip
import time
from pathlib import Path

import pytest

from tenants.enums import ExportStatus, Role
from tenants.models import Membership, Team, TeamExport
from tests.conftest import TeamClient

pytestmark = pytest.mark.worker


@pytest.fixture
def committed_owner(committed):
    from shared_apps.accounts.services import user_get_or_create
    from tenant_apps.audit.models import AuditEvent
    from tenants.context import tenant_context

    team = Team.objects.get(slug="alpha")
    user = user_get_or_create(email="export-owner@example.com", password="a-strong-pass-123")
    Membership.objects.get_or_create(user=user, team=team, defaults={"role": Role.OWNER})
    yield team, user
    for export in TeamExport.objects.filter(team=team):
        if export.file_path:
            Path(export.file_path).unlink(missing_ok=True)
        export.delete()
    with tenant_context(team):
        AuditEvent.objects.filter(action__startswith="team.export").delete()
        user.delete()


def test_export_started_on_the_team_host_is_built_by_the_worker(live_worker, committed_owner):
    team, user = committed_owner
    client = TeamClient(f"{team.slug}.localhost")  # not client_for: that one runs inside the test transaction
    client.force_login(user)

    client.post("/settings/exports/", HTTP_HX_REQUEST="true")

    export = TeamExport.objects.get(team=team)
    deadline = time.monotonic() + 30
    while export.status not in (ExportStatus.DONE, ExportStatus.FAILED) and time.monotonic() < deadline:
        time.sleep(0.2)
        export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    assert f"/exports/{team.schema_name}/" in export.file_path
    with gzip.open(export.file_path, "rt") as archive:
        assert f"CREATE TABLE {team.schema_name}.audit_auditevent" in archive.read()

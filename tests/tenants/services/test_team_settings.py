import gzip
import io

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_exists

from tenant_apps.audit.models import AuditEvent
from tenants import resolver
from tenants.context import tenant_context
from tenants.enums import ExportStatus, Role, TeamStatus
from tenants.exceptions import InvalidStateError, TeamSlugError
from tenants.exports import team_export_run
from tenants.models import Team, TeamExport
from tenants.services.exports import team_export_request
from tenants.services.teams import team_create, team_delete_request, team_provision_retry, team_rename


@pytest.fixture
def owner(team_a, make_member):
    return make_member(team_a, Role.OWNER, email="owner@example.com")


def test_team_rename_updates_name_and_audits(team_a, owner):
    team_rename(team=team_a, name="  Alpha   Labs ", actor=owner)

    assert Team.objects.get(pk=team_a.pk).name == "Alpha Labs"
    with tenant_context(team_a):
        assert AuditEvent.objects.get(action="team.renamed").data == {"from": "Alpha", "to": "Alpha Labs"}


@pytest.mark.parametrize(("name", "code"), [("   ", "team.name_required"), ("x" * 101, "team.name_too_long")])
def test_team_rename_rejects_bad_names(team_a, owner, name, code):
    with pytest.raises(TeamSlugError) as excinfo:
        team_rename(team=team_a, name=name, actor=owner)

    assert excinfo.value.code == code


def test_team_create_taken_in_a_race_reports_taken(db, monkeypatch):
    from tenants.services import teams

    team_create(name="First", slug="raced")
    monkeypatch.setattr(teams, "slug_validate", lambda slug: slug)  # the check passed before the other insert

    with pytest.raises(TeamSlugError) as excinfo:
        team_create(name="Second", slug="raced")

    assert excinfo.value.code == "team.slug_taken"


def test_team_delete_request_needs_the_typed_slug(team_a, owner):
    with pytest.raises(InvalidStateError) as excinfo:
        team_delete_request(team=team_a, actor=owner, confirm_slug="alpah")

    assert excinfo.value.code == "team.delete_not_confirmed"
    assert Team.objects.get(pk=team_a.pk).status == TeamStatus.ACTIVE


def test_team_delete_request_marks_deleted_at_once_and_drops_schema_in_background(
    db, make_user, django_capture_on_commit_callbacks, monkeypatch, client_for
):
    owner = make_user()
    call_command("create_team", slug="doomed", name="Doomed", owner_email=owner.email, stdout=io.StringIO())
    team = Team.objects.get(slug="doomed")
    from tenants import tasks

    queued = []
    monkeypatch.setattr(tasks.team_delete_task, "delay", lambda **kw: queued.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        team_delete_request(team=team, actor=owner, confirm_slug="DOOMED ")

    resolver._cache.clear()
    assert Team.objects.get(pk=team.pk).status == TeamStatus.DELETED
    assert client_for(team, owner).get("/").status_code == 404
    assert queued == [{"team_id": team.pk}]
    assert schema_exists("t_doomed")

    tasks.team_delete_task(team_id=team.pk)

    assert not schema_exists("t_doomed")
    assert not Team.objects.filter(pk=team.pk).exists()


def test_team_provision_retry_requeues_a_failed_team(db, make_user, django_capture_on_commit_callbacks, monkeypatch):
    owner = make_user()
    team = team_create(name="Flaky", slug="flaky", owner=owner, provision_async=False)
    Team.objects.filter(pk=team.pk).update(status=TeamStatus.FAILED, provisioning_error="boom")
    from tenants import tasks

    queued = []
    monkeypatch.setattr(tasks.team_provision_task, "delay", lambda **kw: queued.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        team = team_provision_retry(team=team, actor=owner)

    assert team.status == TeamStatus.PROVISIONING
    assert team.provisioning_error == ""
    assert queued == [{"team_id": team.pk}]


def test_team_provision_retry_of_active_team_is_refused(team_a, owner):
    with pytest.raises(InvalidStateError):
        team_provision_retry(team=team_a, actor=owner)


@pytest.fixture
def export_root(settings, tmp_path):
    settings.TEAM_EXPORT_ROOT = str(tmp_path / "exports")
    return tmp_path / "exports"


def test_team_export_run_writes_gzipped_schema_dump_under_schema_dir(team_a, owner, export_root):
    export, created = team_export_request(team=team_a, actor=owner)

    export = team_export_run(export_id=export.pk)

    assert export.status == ExportStatus.DONE
    assert export.file_path.startswith(str(export_root / "t_alpha") + "/")
    with gzip.open(export.file_path, "rt") as archive:
        sql = archive.read()
    assert "CREATE TABLE t_alpha.audit_auditevent" in sql
    assert "t_bravo" not in sql
    assert export.size_bytes > 0
    assert created
    with tenant_context(team_a):
        assert AuditEvent.objects.filter(action="team.export_requested").exists()


def test_team_export_request_reuses_a_running_export(team_a, owner, export_root):
    first, _created = team_export_request(team=team_a, actor=owner)

    assert team_export_request(team=team_a, actor=owner) == (first, False)


def test_team_export_run_of_missing_schema_fails_visibly(db, make_user, export_root):
    owner = make_user()
    team = team_create(name="Ghost", slug="ghost", owner=owner, provision_async=False)  # schema never built
    export = TeamExport.objects.create(team=team, requested_by=owner)

    export = team_export_run(export_id=export.pk)

    assert export.status == ExportStatus.FAILED
    assert "pg_dump failed" in export.error
    assert not list(export_root.rglob("*.gz"))


def test_team_export_run_keeps_only_the_newest_exports(team_a, owner, export_root, settings):
    settings.TEAM_EXPORT_KEEP = 2
    paths = []
    for _ in range(3):
        export = TeamExport.objects.create(team=team_a, requested_by=owner)
        paths.append(team_export_run(export_id=export.pk).file_path)

    assert TeamExport.objects.filter(team=team_a).count() == 2
    assert sorted(p.name for p in (export_root / "t_alpha").iterdir()) == sorted(p.rsplit("/", 1)[1] for p in paths[1:])


@pytest.mark.parametrize(
    ("role", "call"),
    [
        pytest.param(Role.EDITOR, lambda team, user: team_rename(team=team, name="X", actor=user), id="rename"),
        pytest.param(Role.EDITOR, lambda team, user: team_export_request(team=team, actor=user), id="export"),
        pytest.param(
            Role.ADMIN,
            lambda team, user: team_delete_request(team=team, actor=user, confirm_slug=team.slug),
            id="delete",
        ),
    ],
)
def test_team_services_check_the_actors_role(team_a, make_member, role, call):
    from tenants.exceptions import PermissionDeniedError

    with pytest.raises(PermissionDeniedError):
        call(team_a, make_member(team_a, role))

"""Moving one team: export_team -> erase_team (proved by a scan) -> import_team, against real PostgreSQL, Redis and
files. The team is committed (pg_dump and psql use their own connections) and erased at the end."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from shared_apps.accounts.models import User
from shared_apps.core.redis import get_redis
from tenants import provisioning
from tenants.context import tenant_context
from tenants.enums import Role
from tenants.lifecycle import team_provision
from tenants.models import Domain, Membership, SchemaMigrationState, Team
from tenants.moving import team_erase, team_erase_scan
from tenants.services.teams import team_create

SLUG = "movetest"
SCHEMA = "t_movetest"


def _erase_if_there() -> None:
    team = Team.objects.filter(slug=SLUG).first()
    if team is not None:
        team_erase(team=team)
    provisioning.schema_drop(SCHEMA)
    User.objects.filter(email="mover@example.com").delete()


@pytest.fixture
def moving_team(django_db_setup, committed):
    _erase_if_there()
    owner = User.objects.create_user(email="mover@example.com", password="pw-123456789")
    team = team_create(name="Move Test", slug=SLUG, owner=owner, provision_async=False)
    team = team_provision(team_id=team.pk)
    with tenant_context(team), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (action, target_type, target_id, target_label, data, created_at, "
            "actor_label) VALUES ('bench.moved', 'team', '1', '', '{}', now(), 'mover@example.com')"
        )
    media = Path(settings.MEDIA_ROOT) / "chat-files" / SCHEMA / "s1"
    media.mkdir(parents=True, exist_ok=True)
    (media / "note.txt").write_text("hello from the team")
    get_redis().set(f"test:{SCHEMA}:counter", "1")
    yield team
    connection.set_schema_to_public()
    _erase_if_there()


def _audit_actions(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT action FROM {schema}.audit_auditevent ORDER BY id")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def test_export_erase_import_moves_the_team_whole(moving_team, tmp_path, capsys):
    archive = tmp_path / "team.tar"
    call_command("export_team", slug=SLUG, out=str(archive))
    assert archive.stat().st_size > 0

    call_command("erase_team", slug=SLUG, yes=True)
    out = capsys.readouterr().out
    assert "nothing left" in out
    assert not provisioning.schema_exists(SCHEMA)
    assert not Team.objects.filter(slug=SLUG).exists()
    assert not (Path(settings.MEDIA_ROOT) / "chat-files" / SCHEMA).exists()
    assert get_redis().get(f"test:{SCHEMA}:counter") is None
    assert not SchemaMigrationState.objects.filter(schema_name=SCHEMA).exists()

    call_command("import_team", str(archive))

    team = Team.objects.get(slug=SLUG)
    assert team.is_active
    assert Domain.objects.filter(tenant=team, is_primary=True).exists()
    owner = User.objects.get(email="mover@example.com")
    assert Membership.objects.get(team=team, user=owner).role == Role.OWNER
    assert owner.check_password("pw-123456789")  # the member logs in as before
    assert "bench.moved" in _audit_actions(SCHEMA)
    assert provisioning.pending_migrations(SCHEMA) == set()
    assert SchemaMigrationState.objects.get(schema_name=SCHEMA).digest == provisioning.expected_digest()
    assert (Path(settings.MEDIA_ROOT) / "chat-files" / SCHEMA / "s1" / "note.txt").read_text() == "hello from the team"


def test_the_moved_team_serves_its_host(moving_team, tmp_path, client):
    archive = tmp_path / "team.tar"
    call_command("export_team", slug=SLUG, out=str(archive))
    call_command("erase_team", slug=SLUG, yes=True)
    call_command("import_team", str(archive))

    response = client.get("/healthz", HTTP_HOST=f"{SLUG}.{settings.BASE_DOMAIN}")

    assert response.status_code == 200


def test_import_refuses_when_the_team_exists(moving_team, tmp_path):
    archive = tmp_path / "team.tar"
    call_command("export_team", slug=SLUG, out=str(archive))

    with pytest.raises(CommandError, match="already exists"):
        call_command("import_team", str(archive))


def test_dry_runs_change_nothing(moving_team, tmp_path, capsys):
    archive = tmp_path / "team.tar"
    call_command("export_team", slug=SLUG, out=str(archive), dry_run=True)
    assert not archive.exists()
    call_command("erase_team", slug=SLUG, dry_run=True)
    out = capsys.readouterr().out
    assert "1 files" in out
    assert "Redis keys" in out
    assert provisioning.schema_exists(SCHEMA)
    assert Team.objects.filter(slug=SLUG).exists()


def test_erase_scan_reports_what_is_left(moving_team):
    left = team_erase_scan(team_id=moving_team.pk, slug=SLUG, schema_name=SCHEMA, team=moving_team)

    assert f"schema {SCHEMA}" in left
    assert "team row" in left
    assert any("Redis keys" in item for item in left)
    assert any("files in" in item for item in left)


def test_erase_refuses_unknown_team(db):
    with pytest.raises(CommandError):
        call_command("erase_team", slug="no-such-team", yes=True)

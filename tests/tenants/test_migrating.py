from django.core.management import call_command
from django.db import connection

from tenants import migrating, provisioning


def test_schemas_with_pending_finds_nothing_when_current(team_a, team_b):
    schemas = migrating.team_schemas()

    assert {"t_alpha", "t_bravo"} <= set(schemas)
    assert migrating.schemas_with_pending(schemas) == []


def test_schemas_with_pending_finds_schema_missing_a_migration(team_a):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM t_alpha.django_migrations WHERE app = 'audit' AND name = '0001_initial'")

    pending = migrating.schemas_with_pending(migrating.team_schemas())

    assert pending == ["t_alpha"]


def test_migrate_all_with_nothing_pending_migrates_nothing(team_a, team_b):
    report = migrating.migrate_all(parallel=1)

    assert report.pending == []
    assert report.migrated == []
    assert report.failed == {}
    assert not report.public_migrated


def test_migrate_all_migrates_only_the_pending_schema(team_a, team_b):
    call_command("migrate_schemas", "audit", "zero", tenant=True, schema_name="t_bravo", interactive=False, verbosity=0)
    connection.set_schema_to_public()

    report = migrating.migrate_all(parallel=1)

    assert report.migrated == ["t_bravo"]
    assert provisioning.pending_migrations("t_bravo") == set()


def test_migrate_teams_command_reports_counts(team_a, capsys):
    call_command("migrate_teams", parallel=1)

    out = capsys.readouterr().out
    assert "0 of" in out
    assert "migrated 0" in out

import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tenants import migrating, provisioning
from tenants.models import SchemaMigrationState


def _migrate_to_zero(schema: str, app: str = "audit") -> None:
    """Take a schema back behind the gate's back (its ledger row still vouches for it)."""
    call_command("migrate_schemas", app, "zero", tenant=True, schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_schemas_with_pending_finds_nothing_when_current(team_a, team_b):
    schemas = migrating.team_schemas()

    assert {"t_alpha", "t_bravo"} <= set(schemas)
    assert migrating.schemas_with_pending(schemas) == []


def test_schemas_with_pending_finds_schema_missing_a_migration(team_a):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM t_alpha.django_migrations WHERE app = 'audit' AND name = '0001_initial'")

    pending = migrating.schemas_with_pending(migrating.team_schemas())

    assert pending == ["t_alpha"]


def test_provisioned_teams_and_template_are_in_the_ledger(team_a, team_b):
    digests = dict(SchemaMigrationState.objects.values_list("schema_name", "digest"))

    for schema in ("t_alpha", "t_bravo", settings.TEAM_TEMPLATE_SCHEMA):
        assert digests[schema] == provisioning.expected_digest()


def test_gate_is_one_query_and_finds_nothing_when_current(team_a, team_b, django_assert_num_queries):
    with django_assert_num_queries(1):
        candidates = migrating.gate_candidates()

    assert candidates == []


def test_migrate_all_with_nothing_pending_migrates_nothing(team_a, team_b):
    report = migrating.migrate_all(parallel=1)

    assert report.candidates == 0
    assert report.pending == []
    assert report.migrated == []
    assert report.failed == {}
    assert not report.public_migrated


def test_gate_sees_a_schema_whose_ledger_row_is_missing_and_records_it_when_current(team_a, team_b):
    provisioning.ledger_forget("t_bravo")

    report = migrating.migrate_all(parallel=1)

    assert report.candidates == 1
    assert report.recorded == 1
    assert report.migrated == []
    assert SchemaMigrationState.objects.filter(schema_name="t_bravo").exists()


def test_drift_behind_the_gate_is_found_by_the_full_check_then_migrated(team_a, team_b):
    _migrate_to_zero("t_bravo")
    assert migrating.migrate_all(parallel=1).migrated == []  # the gate trusts the ledger

    check = migrating.schemas_check()

    assert check.ledger_drift == ["t_bravo"]
    assert check.drifted
    report = migrating.migrate_all(parallel=1)
    assert report.migrated == ["t_bravo"]
    assert provisioning.pending_migrations("t_bravo") == set()
    assert "audit_auditevent" in _tables("t_bravo")
    assert not migrating.schemas_check().drifted


def test_pending_sql_migrations_are_replayed_from_sql_compiled_once(team_a, team_b):
    for schema in ("t_alpha", "t_bravo"):
        _migrate_to_zero(schema)
        provisioning.ledger_forget(schema)

    report = migrating.migrate_all(parallel=1)

    assert sorted(report.migrated) == ["t_alpha", "t_bravo"]
    assert report.replayed == 2
    for schema in ("t_alpha", "t_bravo"):
        assert provisioning.pending_migrations(schema) == set()
        assert "audit_auditevent" in _tables(schema)
    # Replayed schemas are structurally the template: the full check agrees.
    check = migrating.schemas_check()
    assert check.structure_drift == []
    assert check.ledger_drift == []


def test_django_migrate_path_when_replay_is_off(team_a, team_b):
    _migrate_to_zero("t_bravo")
    provisioning.ledger_forget("t_bravo")

    report = migrating.migrate_all(parallel=1, replay=False)

    assert report.migrated == ["t_bravo"]
    assert report.replayed == 0
    assert provisioning.pending_migrations("t_bravo") == set()


def test_one_broken_team_does_not_block_the_others_and_is_reported(team_a, team_b, tmp_path):
    for schema in ("t_alpha", "t_bravo"):
        _migrate_to_zero(schema)
        provisioning.ledger_forget(schema)
    with connection.cursor() as cursor:  # something in the way of the migration's CREATE TABLE
        cursor.execute("CREATE TABLE t_alpha.audit_auditevent (id int)")

    report = migrating.migrate_all(parallel=1)
    report.write(str(tmp_path / "report.json"))

    assert report.migrated == ["t_bravo"]
    assert list(report.failed) == ["t_alpha"]
    assert "audit_auditevent" in report.failed["t_alpha"]
    assert json.loads((tmp_path / "report.json").read_text())["failed"].keys() == {"t_alpha"}
    assert not SchemaMigrationState.objects.filter(schema_name="t_alpha").exists()  # the next run retries it


def test_an_interrupted_run_resumes_with_the_schemas_not_yet_done(team_a, team_b):
    for schema in ("t_alpha", "t_bravo"):
        _migrate_to_zero(schema)
        provisioning.ledger_forget(schema)
    missing = migrating.missing_by_schema(["t_alpha"])["t_alpha"]
    statements = migrating.replay_sql("t_alpha", missing)
    assert statements
    migrating._apply(("t_alpha", statements, missing))  # the run got this far, then was killed

    assert migrating.gate_candidates() == ["t_bravo"]
    report = migrating.migrate_all(parallel=1)
    assert report.migrated == ["t_bravo"]


def test_structure_drift_is_reported_by_the_check_command(team_a, team_b):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE t_bravo.audit_auditevent ADD COLUMN surprise int")

    with pytest.raises(CommandError, match="t_bravo"):
        call_command("check_team_schemas", verbosity=0)

    assert migrating.schemas_check().structure_drift == ["t_bravo"]


def test_check_command_dry_run_leaves_the_ledger(team_a, team_b):
    provisioning.ledger_forget("t_bravo")

    call_command("check_team_schemas", "--dry-run", verbosity=0)

    assert not SchemaMigrationState.objects.filter(schema_name="t_bravo").exists()
    call_command("check_team_schemas", verbosity=0)
    assert SchemaMigrationState.objects.filter(schema_name="t_bravo").exists()


def test_check_task_reports_counts(team_a, team_b):
    from tenants.tasks import team_schemas_check_task

    result = team_schemas_check_task()

    assert result["ledger_drift"] == 0
    assert result["checked"] >= 3


def test_migrate_teams_command_reports_counts(team_a, capsys):
    call_command("migrate_teams", parallel=1)

    out = capsys.readouterr().out
    assert "0 of 0" in out
    assert "migrated 0" in out


def test_migrate_teams_command_fails_listing_the_broken_team(team_a, team_b, tmp_path):
    _migrate_to_zero("t_alpha")
    provisioning.ledger_forget("t_alpha")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t_alpha.audit_auditevent (id int)")

    with pytest.raises(CommandError, match="t_alpha"):
        call_command("migrate_teams", parallel=1, report=str(tmp_path / "r.json"), verbosity=0)

    assert "t_alpha" in json.loads((tmp_path / "r.json").read_text())["failed"]

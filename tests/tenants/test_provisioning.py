import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_exists

from tenants import provisioning
from tenants.enums import TeamStatus
from tenants.lifecycle import team_delete, team_provision
from tenants.models import Team
from tenants.services.teams import team_create


def _tables(schema):
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("method", ["clone", "migrate"])
def test_team_provision_builds_complete_schema(db, method):
    team = team_create(name="Gamma", slug=f"gamma-{method}", provision_async=False)

    team = team_provision(team_id=team.pk, method=method)

    assert team.status == TeamStatus.ACTIVE
    assert {"audit_auditevent", "django_migrations"} <= _tables(team.schema_name)
    assert provisioning.pending_migrations(team.schema_name) == set()


def test_team_provision_clone_schema_matches_template_tables(db):
    team = team_create(name="Delta", slug="delta", provision_async=False)

    team_provision(team_id=team.pk, method="clone")

    assert _tables(team.schema_name) == _tables(settings.TEAM_TEMPLATE_SCHEMA)


def test_team_provision_is_idempotent(db):
    team = team_create(name="Eps", slug="eps", provision_async=False)
    team_provision(team_id=team.pk)

    again = team_provision(team_id=team.pk)

    assert again.status == TeamStatus.ACTIVE


def test_team_provision_failure_marks_team_failed_and_drops_schema(db, settings):
    settings.TEAM_SETUP_HOOKS = ["tests.tenants.test_provisioning.failing_setup_hook"]
    team = team_create(name="Zeta", slug="zeta", provision_async=False)

    with pytest.raises(RuntimeError):
        team_provision(team_id=team.pk)

    team.refresh_from_db()
    assert team.status == TeamStatus.FAILED
    assert "setup hook exploded" in team.provisioning_error
    assert not schema_exists(team.schema_name)


def failing_setup_hook(*, team):
    raise RuntimeError("setup hook exploded")


def test_schema_drop_refuses_public_and_template(db):
    with pytest.raises(provisioning.ProvisioningError):
        provisioning.schema_drop("public")
    with pytest.raises(provisioning.ProvisioningError):
        provisioning.schema_drop(settings.TEAM_TEMPLATE_SCHEMA)


def test_stale_template_is_migrated_before_a_clone(committed):
    """A template that lacks a migration must never give a new team a schema without it."""
    template = settings.TEAM_TEMPLATE_SCHEMA
    call_command("migrate_schemas", "audit", "zero", tenant=True, schema_name=template, interactive=False, verbosity=0)
    connection.set_schema_to_public()
    assert "audit_auditevent" not in _tables(template)
    team = None
    try:
        team = team_create(name="Stale check", slug="stale-check", provision_async=False)

        team = team_provision(team_id=team.pk, method="clone")

        assert "audit_auditevent" in _tables(team.schema_name)
        assert provisioning.pending_migrations(team.schema_name) == set()
        assert provisioning.pending_migrations(template) == set()
    finally:
        if team is not None:
            team_delete(team=Team.objects.get(pk=team.pk))
        provisioning.template_ensure_current()

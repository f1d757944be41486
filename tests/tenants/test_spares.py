"""Spare schemas (ADR 0153): built ahead, renamed at provisioning, never handed out for another migration set."""

from __future__ import annotations

import pytest
from django.db import connection

from tenants import provisioning
from tenants.lifecycle import team_provision
from tenants.models import SchemaMigrationState, Team
from tenants.services.teams import team_create


def _spares() -> list[str]:
    return list(
        SchemaMigrationState.objects.filter(schema_name__startswith="spare_").values_list("schema_name", flat=True)
    )


@pytest.fixture
def spares_on(django_db_setup, committed, settings):
    settings.TEAM_SPARE_SCHEMAS = 2
    yield
    for slug in ("sparetest", "sparetest2"):
        team = Team.objects.filter(slug=slug).first()
        if team is not None:
            provisioning.schema_drop(team.schema_name)
            team.delete()
    for name in _spares():
        provisioning.schema_drop(name)
    connection.set_schema_to_public()


def test_refill_builds_spares_and_provisioning_takes_one(spares_on):
    assert provisioning.spares_refill() == 2
    assert provisioning.spares_refill() == 0
    spares = _spares()

    team = team_create(name="Spare", slug="sparetest", provision_async=False)
    team = team_provision(team_id=team.pk)

    assert team.is_active
    assert len(_spares()) == 1
    assert not provisioning.schema_exists(sorted(set(spares) - set(_spares()))[0])
    assert provisioning.pending_migrations("t_sparetest") == set()
    assert SchemaMigrationState.objects.get(schema_name="t_sparetest").digest == provisioning.expected_digest()


def test_a_spare_built_for_other_migrations_is_never_handed_out(spares_on):
    provisioning.spares_refill()
    SchemaMigrationState.objects.filter(schema_name__startswith="spare_").update(digest="built-by-older-code")

    assert provisioning.spare_claim("t_sparetest2") is False
    team = team_create(name="Spare 2", slug="sparetest2", provision_async=False)
    team = team_provision(team_id=team.pk)  # falls back to a clone of the current template
    assert team.is_active
    assert provisioning.pending_migrations("t_sparetest2") == set()

    provisioning.spares_refill()  # stale spares are dropped and rebuilt
    digests = set(
        SchemaMigrationState.objects.filter(schema_name__startswith="spare_").values_list("digest", flat=True)
    )
    assert digests == {provisioning.expected_digest()}


def test_refill_task(spares_on):
    from tenants.tasks import team_spares_refill_task

    assert team_spares_refill_task() == 2


def test_spares_stay_out_of_the_gate(db):
    from tenants import migrating

    assert not [s for s in migrating.team_schemas() if s.startswith("spare_")]

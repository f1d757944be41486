import io

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_exists

from shared_apps.accounts.models import User
from tenants.enums import Role, TeamStatus
from tenants.models import Membership, Team


def test_create_team_command_builds_team_and_owner(db):
    out = io.StringIO()

    call_command(
        "create_team", slug="acme", name="Acme", owner_email="Boss@Example.com", owner_password="pw-1234567", stdout=out
    )

    team = Team.objects.get(slug="acme")
    owner = User.objects.get(email="boss@example.com")
    assert team.status == TeamStatus.ACTIVE
    assert schema_exists("t_acme")
    assert owner.check_password("pw-1234567")
    assert Membership.objects.get(team=team, user=owner).role == Role.OWNER
    assert "http://acme.localhost/" in out.getvalue()


def test_create_team_command_reuses_existing_owner(make_user):
    existing = make_user(email="boss@example.com", password="original-pass-1")

    call_command(
        "create_team",
        slug="acme",
        name="Acme",
        owner_email="boss@example.com",
        owner_password="other",
        stdout=io.StringIO(),
    )

    existing.refresh_from_db()
    assert existing.check_password("original-pass-1")
    assert Membership.objects.filter(user=existing, team__slug="acme", role=Role.OWNER).exists()


def test_create_team_command_rejects_bad_slug(db):
    with pytest.raises(CommandError, match="reserved"):
        call_command("create_team", slug="admin", name="Nope", stdout=io.StringIO())


def test_delete_team_command_requires_typed_slug(db, monkeypatch):
    call_command("create_team", slug="acme", name="Acme", stdout=io.StringIO())
    monkeypatch.setattr("builtins.input", lambda prompt: "wrong")

    with pytest.raises(CommandError, match="Not confirmed"):
        call_command("delete_team", slug="acme")

    assert schema_exists("t_acme")


def test_delete_team_command_drops_schema_when_confirmed(db, monkeypatch):
    call_command("create_team", slug="acme", name="Acme", stdout=io.StringIO())
    monkeypatch.setattr("builtins.input", lambda prompt: "acme")

    call_command("delete_team", slug="acme", stdout=io.StringIO())

    assert not schema_exists("t_acme")
    assert not Team.objects.filter(slug="acme").exists()

import pytest
from django_tenants.utils import schema_exists

from tenants.enums import Role, TeamStatus
from tenants.exceptions import InvalidStateError, TeamSlugError
from tenants.lifecycle import team_delete, team_provision
from tenants.models import Domain, Membership, Team
from tenants.services.teams import slug_validate, team_create, team_set_status


@pytest.mark.parametrize(
    ("slug", "code"),
    [
        pytest.param("", "team.slug_required", id="empty"),
        pytest.param("ab", "team.slug_length", id="too-short"),
        pytest.param("a" * 41, "team.slug_length", id="too-long"),
        pytest.param("-acme", "team.slug_format", id="leading-hyphen"),
        pytest.param("acme-", "team.slug_format", id="trailing-hyphen"),
        pytest.param("ac_me", "team.slug_format", id="underscore"),
        pytest.param("acmé", "team.slug_format", id="non-ascii"),
        pytest.param("ac--me", "team.slug_format", id="double-hyphen"),
        pytest.param("www", "team.slug_reserved", id="reserved-www"),
        pytest.param("console", "team.slug_reserved", id="reserved-console"),
        pytest.param("alpha", "team.slug_taken", id="taken"),
        pytest.param("ALPHA", "team.slug_taken", id="taken-any-case"),
    ],
)
def test_slug_validate_rejects(team_a, slug, code):
    with pytest.raises(TeamSlugError) as excinfo:
        slug_validate(slug)

    assert excinfo.value.code == code
    assert excinfo.value.message


def test_slug_validate_normalises_case_and_space(db):
    assert slug_validate("  Acme-Labs ") == "acme-labs"


def test_team_create_makes_row_domain_and_owner_without_schema(make_user):
    owner = make_user()

    team = team_create(name="Acme Labs", slug="acme-labs", owner=owner, provision_async=False)

    assert team.status == TeamStatus.PROVISIONING
    assert team.schema_name == "t_acme_labs"
    assert Domain.objects.get(tenant=team).domain == "acme-labs.localhost"
    assert Membership.objects.get(team=team).role == Role.OWNER
    assert not schema_exists("t_acme_labs")


def test_team_create_async_enqueues_provisioning_after_commit(db, django_capture_on_commit_callbacks, monkeypatch):
    calls = []
    from tenants import tasks

    monkeypatch.setattr(tasks.team_provision_task, "delay", lambda **kw: calls.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        team = team_create(name="Later", slug="later")

    assert calls == [{"team_id": team.pk}]


def test_team_delete_drops_schema_and_rows(db):
    team = team_create(name="Gone", slug="gone", provision_async=False)
    team_provision(team_id=team.pk)
    assert schema_exists("t_gone")

    team_delete(team=team)

    assert not schema_exists("t_gone")
    assert not Team.objects.filter(slug="gone").exists()


def test_team_set_status_refuses_unready_team(db):
    team = team_create(name="Prov", slug="prov", provision_async=False)

    with pytest.raises(InvalidStateError):
        team_set_status(team=team, status=TeamStatus.SUSPENDED)

import pytest

from tenants import resolver
from tenants.enums import TeamStatus
from tenants.models import Team
from tenants.services.teams import team_set_status


def test_team_for_host_second_lookup_needs_no_query(team_a, django_assert_num_queries):
    resolver.team_for_host("alpha.localhost")

    with django_assert_num_queries(0):
        found = resolver.team_for_host("alpha.localhost")

    assert found.pk == team_a.pk


def test_team_for_host_unknown_host_is_none_and_cached(db, django_assert_num_queries):
    assert resolver.team_for_host("nobody.localhost") is None

    with django_assert_num_queries(0):
        assert resolver.team_for_host("nobody.localhost") is None


def test_team_for_host_apex_is_public_tenant(db):
    team = resolver.team_for_host("localhost")

    assert team is not None
    assert team.is_public


def test_team_for_host_sees_status_change_after_invalidation(team_a, django_capture_on_commit_callbacks):
    assert resolver.team_for_host("alpha.localhost").status == TeamStatus.ACTIVE

    with django_capture_on_commit_callbacks(execute=True):
        team_set_status(team=team_a, status=TeamStatus.SUSPENDED)

    assert resolver.team_for_host("alpha.localhost").status == TeamStatus.SUSPENDED


def test_team_for_host_other_process_invalidation_via_generation(team_a):
    resolver.team_for_host("alpha.localhost")
    Team.objects.filter(pk=team_a.pk).update(name="Renamed elsewhere")
    resolver._cache._generation = b"stale-generation-of-this-process"

    assert resolver.team_for_host("alpha.localhost").name == "Renamed elsewhere"


def test_team_for_schema_unknown_raises(db):
    with pytest.raises(Team.DoesNotExist):
        resolver.team_for_schema("t_does_not_exist")

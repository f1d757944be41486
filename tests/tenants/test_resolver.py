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


def test_invented_hosts_do_not_grow_the_cache_or_push_out_real_teams(team_a, settings, django_assert_num_queries):
    resolver.team_for_host("alpha.localhost")

    for number in range(300 + settings.TEAM_CACHE_MAX_UNKNOWN):
        assert resolver.team_for_host(f"invented-{number}.localhost") is None

    assert len(resolver._cache._unknown_hosts) == settings.TEAM_CACHE_MAX_UNKNOWN
    assert len(resolver._cache._by_host) == 1
    with django_assert_num_queries(0):
        assert resolver.team_for_host("alpha.localhost").pk == team_a.pk


def test_unknown_host_entry_expires(db, settings, django_assert_num_queries, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(resolver.time, "monotonic", lambda: clock[0])
    resolver.team_for_host("later.localhost")

    clock[0] += settings.TEAM_CACHE_UNKNOWN_SECONDS - 1
    with django_assert_num_queries(0):
        resolver.team_for_host("later.localhost")
    clock[0] += 1
    with django_assert_num_queries(1):
        resolver.team_for_host("later.localhost")


def test_known_hosts_are_capped_least_recently_used_first(team_a, team_b, settings):
    settings.TEAM_CACHE_MAX_TEAMS = 2
    for host in ("alpha.localhost", "bravo.localhost", "alpha.localhost", "localhost"):
        resolver.team_for_host(host)

    assert list(resolver._cache._by_host._entries) == ["alpha.localhost", "localhost"]

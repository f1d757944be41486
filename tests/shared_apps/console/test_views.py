"""The console's pages and actions, as staff use them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from shared_apps.billing.models import Plan, UsageDay
from shared_apps.catalog.models import LlmModel
from shared_apps.console import selectors
from shared_apps.console.models import StaffAction, TeamFlag, TeamRollup
from tenants.enums import Role, TeamStatus
from tenants.models import Membership, Team


@pytest.fixture
def usage(team_a, team_b):
    today = timezone.now().date()
    UsageDay.objects.create(team=team_a, day=today, ai_messages=5)
    UsageDay.objects.create(team=team_b, day=today, ai_messages=40)
    UsageDay.objects.create(team=team_b, day=today - timedelta(days=60), ai_messages=1000)  # another month
    TeamRollup.objects.create(team=team_a, chatbots=3, sessions=9, last_activity_at=timezone.now())
    TeamRollup.objects.create(team=team_b, chatbots=1, last_activity_at=timezone.now() - timedelta(days=2))


def _names(response) -> list[str]:
    return [team.slug for team in response.context["page"].object_list]


def test_team_list_shows_figures_from_public_rollups(staff_client, usage, team_a, make_member):
    make_member(team_a, Role.EDITOR)

    response = staff_client.get("/console/teams/", {"sort": "name"})

    rows = {t.slug: t for t in response.context["page"].object_list}
    assert rows["alpha"].members >= 1
    assert rows["alpha"].chatbots == 3
    assert rows["alpha"].ai_messages == 5
    assert rows["bravo"].ai_messages == 40  # this month only
    assert b"console-teams" in response.content


@pytest.mark.parametrize(
    ("sort", "first"),
    [
        pytest.param("-messages", "bravo", id="messages"),
        pytest.param("-chatbots", "alpha", id="chatbots"),
        pytest.param("-activity", "alpha", id="activity"),
        pytest.param("-name", "bravo", id="name-desc"),
    ],
)
def test_team_list_sorts(sort, first, staff_client, usage):
    names = [n for n in _names(staff_client.get("/console/teams/", {"sort": sort})) if n in ("alpha", "bravo")]

    assert names[0] == first


def test_team_list_searches_name_and_subdomain(staff_client, usage):
    assert _names(staff_client.get("/console/teams/", {"q": "alph"})) == ["alpha"]
    assert _names(staff_client.get("/console/teams/", {"q": "nothing-like-it"})) == []


def test_team_list_ignores_unknown_sort_and_long_search(staff_client, usage):
    response = staff_client.get("/console/teams/", {"sort": "password; drop", "q": "x" * 5000})

    assert response.status_code == 200


def test_team_list_query_count_does_not_grow_with_teams(staff_client, usage, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        staff_client.get("/console/teams/")


def test_suspend_and_unsuspend_are_audited(staff_client, staff, team_a, client_for, make_member):
    member = make_member(team_a)

    suspended = staff_client.post(f"/console/teams/{team_a.pk}/suspend/", {"reason": "abuse report 12"})
    team_a.refresh_from_db()
    blocked = client_for(team_a, member).get("/")
    staff_client.post(f"/console/teams/{team_a.pk}/unsuspend/")
    team_a.refresh_from_db()

    assert suspended.status_code == 302
    assert blocked.status_code == 403
    assert team_a.status == TeamStatus.ACTIVE
    actions = list(StaffAction.objects.filter(team=team_a).values_list("action", "actor_id"))
    assert ("team.suspended", staff.pk) in actions
    assert ("team.unsuspended", staff.pk) in actions


def test_suspend_without_reason_is_refused_with_a_message(staff_client, team_a):
    response = staff_client.post(f"/console/teams/{team_a.pk}/suspend/", {"reason": "  "}, follow=True)

    team_a.refresh_from_db()
    assert team_a.status == TeamStatus.ACTIVE
    assert "Say why" in response.content.decode()


def test_plan_override_goes_through_billing(staff_client, team_a):
    Plan.objects.get_or_create(code="pro", defaults={"name": "Pro", "price_monthly": 20})

    staff_client.post(f"/console/teams/{team_a.pk}/plan/", {"plan": "pro"})

    team_a.refresh_from_db()
    assert team_a.plan_code == "pro"
    assert StaffAction.objects.filter(team=team_a, action="team.plan_overridden").exists()


def test_unknown_plan_is_a_message_not_a_crash(staff_client, team_a):
    response = staff_client.post(f"/console/teams/{team_a.pk}/plan/", {"plan": "nope"}, follow=True)

    assert response.status_code == 200
    assert "There is no plan" in response.content.decode()


def test_feature_flag_on_and_off(staff_client, team_a):
    staff_client.post(f"/console/teams/{team_a.pk}/flags/", {"flag": "evaluations", "enabled": "on"})
    on = selectors.flag_enabled(team=team_a, name="evaluations")
    staff_client.post(f"/console/teams/{team_a.pk}/flags/", {"flag": "evaluations"})

    assert on is True
    assert selectors.flag_enabled(team=team_a, name="evaluations") is False
    assert StaffAction.objects.filter(action="team.flag_set").count() == 2


def test_unknown_flag_is_refused(staff_client, team_a):
    staff_client.post(f"/console/teams/{team_a.pk}/flags/", {"flag": "made_up", "enabled": "on"})

    assert not TeamFlag.objects.exists()
    with pytest.raises(KeyError):
        selectors.flag_enabled(team=team_a, name="made_up")


def test_team_detail_of_missing_team_is_404(staff_client):
    assert staff_client.get("/console/teams/987654/").status_code == 404


def test_team_detail_shows_members_flags_and_usage_chart(staff_client, usage, team_a, make_member):
    make_member(team_a, Role.ADMIN, email="admin-of-alpha@example.com")

    page = staff_client.get(f"/console/teams/{team_a.pk}/").content.decode()

    assert "admin-of-alpha@example.com" in page
    assert "token_streaming" in page
    assert "<svg" in page


def test_overview_has_signup_and_message_charts(staff_client, usage):
    page = staff_client.get("/console/").content.decode()

    assert 'data-testid="chart-signups"' in page
    assert 'data-testid="chart-messages"' in page


def test_messages_series_counts_per_day(usage):
    series = selectors.messages_series(days=90)

    assert series.points[-1][1] == 45
    assert series.total == 1045


def test_catalog_edit_pins_the_model_and_validates(staff_client):
    model = LlmModel.objects.first()
    form = {
        "display_name": "Renamed",
        "context_window": "64000",
        "max_output_tokens": "4000",
        "input_price_per_million": "1.5",
        "output_price_per_million": "",
    }

    bad = staff_client.post(f"/console/catalog/{model.pk}/", {**form, "context_window": "-3"}, follow=True)
    staff_client.post(f"/console/catalog/{model.pk}/", form)

    model.refresh_from_db()
    assert "whole number" in bad.content.decode()
    assert model.display_name == "Renamed"
    assert model.context_window == 64000
    assert model.pinned
    assert StaffAction.objects.filter(action="catalog.model_updated").exists()


def test_health_page_shows_checks_queues_and_beat(staff_client):
    page = staff_client.get("/console/health/").content.decode()

    assert 'data-testid="health-checks"' in page
    assert "maintenance" in page
    assert 'data-testid="beat-age"' in page


def test_audit_log_filters(staff_client, staff, team_a):
    from shared_apps.console.services import staff_action_record

    staff_action_record(actor=staff, action="team.suspended", team=team_a)
    staff_action_record(actor=staff, action="catalog.model_updated")

    rows = staff_client.get("/console/audit/", {"action": "team."}).context["page"].object_list

    assert [r.action for r in rows] == ["team.suspended"]


def test_members_count_is_per_team(staff_client, team_a, team_b, make_member):
    before = {t.slug: t.members for t in selectors.team_list() if t.slug in ("alpha", "bravo")}
    make_member(team_b)

    after = {t.slug: t.members for t in selectors.team_list() if t.slug in ("alpha", "bravo")}

    assert after["bravo"] == before["bravo"] + 1
    assert after["alpha"] == before["alpha"]
    assert Membership.objects.filter(team=Team.objects.get(slug="bravo")).count() == after["bravo"]

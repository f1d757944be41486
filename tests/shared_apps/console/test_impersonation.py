"""Audited read-only staff visits: start in the console, a one-time entry on the team host, a banner on every
page, only reads allowed, every request logged, and an end from either side."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from shared_apps.console.models import Impersonation, StaffAction
from tests.conftest import TeamClient


def _start(staff_client, team, reason="ticket 42"):
    response = staff_client.post(f"/console/teams/{team.pk}/visit/", {"reason": reason})
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.hostname == f"{team.slug}.localhost"
    return location.path, parse_qs(location.query)["token"][0]


@pytest.fixture
def visiting(staff_client, team_a):
    path, token = _start(staff_client, team_a)
    client = TeamClient(f"{team_a.slug}.localhost")
    entered = client.get(path, {"token": token})
    assert entered.status_code == 302
    return client


def test_visit_shows_the_team_read_only_with_a_banner(visiting, team_a):
    home = visiting.get("/")

    assert home.status_code == 200
    assert b'data-testid="visit-banner"' in home.content
    assert b"read-only" in home.content


def test_visit_refuses_every_change(visiting):
    response = visiting.post("/chatbots/new/", {"name": "sneaky"})

    assert response.status_code == 403


def test_every_request_of_the_visit_is_logged(visiting, team_a):
    visiting.get("/")
    visiting.get("/chatbots/")
    visiting.post("/chatbots/new/", {"name": "sneaky"})

    visit = Impersonation.objects.get(team=team_a)
    logged = list(StaffAction.objects.filter(action="impersonation.request").values_list("data", flat=True))
    assert visit.requests == 3
    assert [(d["method"], d["path"], d["status"]) for d in reversed(logged)] == [
        ("GET", "/", 200),
        ("GET", "/chatbots/", 200),
        ("POST", "/chatbots/new/", 403),
    ]
    assert StaffAction.objects.filter(action="impersonation.started", team=team_a).exists()


def test_token_works_once_and_only_on_its_team(staff_client, team_a, team_b):
    path, token = _start(staff_client, team_a)

    wrong_team = TeamClient(f"{team_b.slug}.localhost").get(path, {"token": token})
    first = TeamClient(f"{team_a.slug}.localhost").get(path, {"token": token})
    again = TeamClient(f"{team_a.slug}.localhost").get(path, {"token": token})

    assert wrong_team.status_code == 404
    assert first.status_code == 302
    assert again.status_code == 404


def test_visit_reaches_no_other_team(visiting, team_b):
    other = TeamClient(f"{team_b.slug}.localhost")
    other.cookies = visiting.cookies  # even with the same cookie, another host is another session

    assert other.get("/").status_code in (302, 404)


def test_ending_from_the_banner_logs_out_and_records_the_end(visiting, team_a):
    ended = visiting.post("/staff-visit/end/")
    after = visiting.get("/")

    visit = Impersonation.objects.get(team=team_a)
    assert ended.status_code == 302
    assert f"/console/teams/{team_a.pk}/" in ended["Location"]
    assert visit.ended_at is not None
    assert after.status_code == 302  # logged out: sent to the login page
    assert StaffAction.objects.filter(action="impersonation.ended", team=team_a).exists()


def test_ending_from_the_console_closes_the_visit_at_once(visiting, staff_client, team_a):
    visit = Impersonation.objects.get(team=team_a)

    staff_client.post(f"/console/visits/{visit.pk}/end/")

    assert visiting.get("/").status_code == 404


def test_staff_who_lost_staff_status_loses_the_visit(visiting, staff):
    staff.is_staff = False
    staff.save(update_fields=["is_staff"])

    assert visiting.get("/").status_code == 404


def test_visit_needs_a_reason(staff_client, team_a):
    staff_client.post(f"/console/teams/{team_a.pk}/visit/", {"reason": ""})

    assert not Impersonation.objects.exists()


def test_team_audit_log_records_the_visit(visiting, team_a):
    from tenant_apps.audit.models import AuditEvent
    from tenants.context import tenant_context

    with tenant_context(team_a):
        actions = set(AuditEvent.objects.values_list("action", flat=True))

    assert "impersonation.started" in actions

from django.db import connection

from tenants.enums import Role, TeamStatus
from tenants.models import Team


def test_apex_serves_public_site(apex_client):
    response = apex_client.get("/")

    assert response.status_code == 200
    assert b"Create your team" in response.content


def test_unknown_team_host_gets_clear_404_page(apex_client):
    response = apex_client.get("/", HTTP_HOST="nobody.localhost")

    assert response.status_code == 404
    assert b"There is no team at this address" in response.content


def test_suspended_team_gets_403_page(team_a, member_client):
    Team.objects.filter(pk=team_a.pk).update(status=TeamStatus.SUSPENDED)

    response = member_client.get("/")

    assert response.status_code == 403
    assert b"is suspended" in response.content


def test_provisioning_team_gets_progress_page(team_a, member_client):
    Team.objects.filter(pk=team_a.pk).update(status=TeamStatus.PROVISIONING)

    response = member_client.get("/")

    assert response.status_code == 503
    assert b"Setting up" in response.content


def test_team_host_logged_out_redirects_to_apex_login_and_back(client_for, team_a):
    response = client_for(team_a).get("/?x=1")

    assert response.status_code == 302
    assert response["Location"].startswith("http://localhost/accounts/login/?next=")
    assert "%2Fgo%2Falpha%2F%3Fnext%3D%252F%253Fx%253D1" in response["Location"]


def test_team_host_member_sees_team_home(member_client, team_a):
    response = member_client.get("/")

    assert response.status_code == 200
    assert b"Welcome to Alpha" in response.content


def test_team_host_non_member_gets_404(client_for, team_a, team_b, make_member):
    outsider = make_member(team_b, Role.OWNER)

    response = client_for(team_a, outsider).get("/")

    assert response.status_code == 404


def test_team_host_request_runs_in_team_schema(member_client, team_a):
    member_client.get("/")

    assert connection.schema_name == "public"  # the test client restores the test's schema afterwards


def test_health_answers_on_team_host_without_login(client_for, team_a):
    response = client_for(team_a).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

"""Only active staff who used two-factor authentication in this login reach the console; others learn nothing."""

import pytest

from tests.conftest import TeamClient
from tests.shared_apps.console.conftest import mfa_enable, mfa_session

PAGES = ["/console/", "/console/teams/", "/console/health/", "/console/audit/", "/console/catalog/"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitor_is_sent_to_login(path, db):
    response = TeamClient("localhost").get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", PAGES)
def test_non_staff_user_gets_404(path, make_user):
    client = TeamClient("localhost")
    user = make_user()
    mfa_enable(user)
    client.force_login(user)
    mfa_session(client, user)

    assert client.get(path).status_code == 404


def test_staff_without_an_authenticator_is_sent_to_set_one_up(make_user):
    client = TeamClient("localhost")
    client.force_login(make_user(is_staff=True))

    response = client.get("/console/teams/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/")


def test_staff_whose_login_skipped_two_factor_must_give_a_code(make_user):
    client = TeamClient("localhost")
    user = make_user(is_staff=True)
    mfa_enable(user)
    client.force_login(user)

    response = client.get("/console/teams/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/")


@pytest.mark.parametrize("path", PAGES)
def test_staff_with_two_factor_opens_every_page(path, staff_client):
    assert staff_client.get(path).status_code == 200


def test_console_is_not_on_team_hosts(staff, team_a, client_for):
    client = client_for(team_a, staff)

    assert client.get("/console/teams/").status_code == 404

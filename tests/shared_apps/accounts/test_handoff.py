from urllib.parse import urlparse

import pytest
from django.contrib.sessions.backends.cached_db import SessionStore

from shared_apps.accounts import handoff
from tenants.enums import Role


def _handoff_path(response):
    url = urlparse(response["Location"])
    return url.netloc, url.path + "?" + url.query


def test_team_go_hands_member_to_team_host_and_lands_logged_in(apex_client, client_for, team_a, make_member):
    user = make_member(team_a, Role.EDITOR)
    apex_client.force_login(user)

    response = apex_client.get("/go/alpha/?next=/somewhere/")
    host, path = _handoff_path(response)
    landed = client_for(team_a).get(path)

    assert host == "alpha.localhost"
    assert landed.status_code == 302
    assert landed["Location"] == "/somewhere/"


def test_handoff_token_is_single_use(apex_client, client_for, team_a, make_member):
    apex_client.force_login(make_member(team_a))
    _, path = _handoff_path(apex_client.get("/go/alpha/"))
    client_for(team_a).get(path)

    second = client_for(team_a).get(path)

    assert second.status_code == 302
    assert second["Location"].startswith("http://localhost/go/alpha/")


def test_handoff_token_for_another_team_is_refused(apex_client, client_for, team_a, team_b, make_member):
    user = make_member(team_a)
    from tenants.models import Membership

    Membership.objects.create(user=user, team=team_b, role=Role.OWNER)
    apex_client.force_login(user)
    _, path = _handoff_path(apex_client.get("/go/alpha/"))

    response = client_for(team_b).get(path)

    assert response["Location"].startswith("http://localhost/go/bravo/")
    assert "_auth_user_id" not in client_for(team_b).session


def test_team_go_for_non_member_is_404(apex_client, team_a, team_b, make_member):
    apex_client.force_login(make_member(team_b))

    assert apex_client.get("/go/alpha/").status_code == 404


def test_handoff_token_expires(team_a, monkeypatch):
    token = handoff.handoff_token_create(user_id=1, team_id=team_a.pk, next_path="/", login_group="g")
    monkeypatch.setattr(handoff, "HANDOFF_MAX_AGE", -1)

    with pytest.raises(handoff.HandoffError, match="expired"):
        handoff.handoff_token_redeem(token=token, team_id=team_a.pk)


def test_handoff_token_tampered_is_refused(team_a):
    token = handoff.handoff_token_create(user_id=1, team_id=team_a.pk, next_path="/", login_group="g")

    with pytest.raises(handoff.HandoffError, match="bad_signature"):
        handoff.handoff_token_redeem(token=token[:-2] + "xx", team_id=team_a.pk)


@pytest.mark.parametrize(
    ("path", "safe"),
    [("/chatbots/", "/chatbots/"), ("//evil.com/", "/"), ("https://evil.com/", "/"), ("/\\evil.com", "/"), ("", "/")],
)
def test_safe_next_path_keeps_only_local_paths(path, safe):
    assert handoff.safe_next_path(path) == safe


def test_logout_on_team_host_ends_apex_and_other_team_sessions(apex_client, client_for, team_a, team_b, make_member):
    user = make_member(team_a)
    from tenants.models import Membership

    Membership.objects.create(user=user, team=team_b, role=Role.VIEWER)
    apex_client.post("/accounts/login/", {"login": user.email, "password": "a-strong-pass-123"})
    team_clients = {}
    for team in (team_a, team_b):
        _, path = _handoff_path(apex_client.get(f"/go/{team.slug}/"))
        team_clients[team.slug] = client_for(team)
        team_clients[team.slug].get(path)
    assert team_clients["bravo"].get("/").status_code == 200

    team_clients["alpha"].post("/auth/logout/")

    assert team_clients["bravo"].get("/").status_code == 302
    assert apex_client.get("/app/").status_code == 302
    assert not SessionStore(session_key=apex_client.session.session_key).exists(apex_client.session.session_key)


def test_toasts_pending_on_the_apex_travel_with_the_handoff(apex_client, client_for, team_a, make_member):
    apex_client.post("/accounts/login/", {"login": make_member(team_a).email, "password": "a-strong-pass-123"})
    _, path = _handoff_path(apex_client.get("/go/alpha/"))
    team_client = client_for(team_a)

    team_client.get(path)
    team_page = team_client.get("/").content.decode()
    apex_later = apex_client.get("/").content.decode()

    assert "Successfully signed in" in team_page  # allauth's toast, shown where the login led
    assert "Successfully signed in" not in apex_later  # and not on the apex minutes later


def test_logout_on_a_team_host_says_so_on_the_apex_only(apex_client, client_for, team_a, make_member):
    apex_client.post("/accounts/login/", {"login": make_member(team_a).email, "password": "a-strong-pass-123"})
    _, path = _handoff_path(apex_client.get("/go/alpha/"))
    team_client = client_for(team_a)
    team_client.get(path)

    response = team_client.post("/auth/logout/")
    target = urlparse(response["Location"])
    landed = apex_client.get(f"{target.path}?{target.query}")

    assert target.netloc == "localhost"
    assert "You have been logged out." in landed.content.decode()

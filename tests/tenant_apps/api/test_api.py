"""``/api/v1/me/`` end to end: API keys and sessions, authorized by the declared role (tenants.permissions)."""

import pytest

from tenant_apps.api.services import api_key_create, api_key_revoke
from tenants.context import tenant_context
from tenants.enums import Role


@pytest.fixture
def make_key(team_a):
    def make(read_only=False, team=None):
        with tenant_context(team or team_a):
            return api_key_create(name="ci", read_only=read_only, created_by=None)

    return make


def test_me_with_bearer_key_returns_team_and_key(make_key, client_for, team_a):
    key, raw = make_key(read_only=True)

    response = client_for(team_a).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 200
    assert response.json() == {
        "team": {"slug": "alpha", "name": "Alpha"},
        "auth": {"type": "api_key", "name": "ci", "prefix": key.prefix, "read_only": True, "role": "viewer"},
    }


def test_me_with_x_api_key_header(make_key, client_for, team_a):
    _key, raw = make_key()

    response = client_for(team_a).get("/api/v1/me/", HTTP_X_API_KEY=raw)

    assert response.status_code == 200
    assert response.json()["auth"]["role"] == "editor"


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"HTTP_AUTHORIZATION": "Bearer cs_0123456789.wrongwrongwrongwrongwrong"}, id="unknown-key"),
        pytest.param({"HTTP_X_API_KEY": "garbage"}, id="malformed"),
    ],
)
def test_me_with_bad_key_is_401_with_error_shape(client_for, team_a, header):
    response = client_for(team_a).get("/api/v1/me/", **header)

    assert response.status_code == 401
    assert response.json()["code"] == "auth.unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_me_with_revoked_key_is_401(make_key, client_for, team_a):
    key, raw = make_key()
    with tenant_context(team_a):
        api_key_revoke(key=key, actor=None)

    assert client_for(team_a).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_me_with_another_teams_key_is_401(make_key, client_for, team_a, team_b):
    _key, raw = make_key(team=team_b)

    response = client_for(team_a).get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 401


def test_read_only_key_is_refused_unsafe_methods(make_key, client_for, team_a):
    _key, raw = make_key(read_only=True)

    response = client_for(team_a).post("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 403
    assert response.json()["code"] == "api_key.read_only"


def test_full_key_passes_permission_on_unsafe_method(make_key, client_for, team_a):
    _key, raw = make_key()

    response = client_for(team_a).post("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert response.status_code == 405  # authorized; the endpoint just has no POST


def test_me_with_member_session(client_for, team_a, make_member):
    user = make_member(team_a, Role.VIEWER, email="v@example.com")

    response = client_for(team_a, user).get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["auth"] == {"type": "session", "email": "v@example.com", "role": "viewer"}


def test_me_with_another_teams_member_session_is_404(client_for, team_a, team_b, make_member):
    outsider = make_member(team_b, Role.OWNER)

    response = client_for(team_a, outsider).get("/api/v1/me/")

    assert response.status_code == 404
    assert response.json()["code"] == "request.not_found"


def test_me_anonymous_is_401(client_for, team_a):
    assert client_for(team_a).get("/api/v1/me/").status_code == 401


def test_me_with_key_costs_few_queries(make_key, client_for, team_a, django_assert_max_num_queries):
    _key, raw = make_key()
    client = client_for(team_a)
    client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}")  # warms the host cache, writes last_used_at

    with django_assert_max_num_queries(2):
        assert client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200

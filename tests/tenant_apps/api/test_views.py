import re

import pytest

from tenant_apps.api.models import ApiKey
from tenant_apps.api.services import api_key_create
from tenant_apps.audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.enums import Role


@pytest.fixture
def admin_client(team_a, make_member, client_for):
    return client_for(team_a, make_member(team_a, Role.ADMIN, email="admin@example.com"))


def test_api_key_list_page_renders_for_admin(admin_client, team_a):
    with tenant_context(team_a):
        api_key_create(name="existing", read_only=True, created_by=None)

    response = admin_client.get("/settings/api-keys/")

    assert response.status_code == 200
    assert b"existing" in response.content
    assert b"Read-only" in response.content


def test_api_key_create_shows_secret_once(admin_client, team_a):
    response = admin_client.post("/settings/api-keys/", {"name": "ci", "read_only": "on"}, HTTP_HX_REQUEST="true")

    raw = re.search(rb'value="(cs_[0-9a-f]+\.[\w-]+)"', response.content).group(1).decode()
    assert response["Cache-Control"] == "no-store"
    with tenant_context(team_a):
        key = ApiKey.objects.get(name="ci")
        assert key.read_only
        assert AuditEvent.objects.get(action="api_key.created").actor_label == "admin@example.com"
    assert raw.startswith(key.prefix + ".")
    assert raw.encode() not in admin_client.get("/settings/api-keys/").content


def test_api_key_create_without_name_shows_error(admin_client):
    response = admin_client.post("/settings/api-keys/", {"name": ""}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b"This field is required" in response.content


def test_api_key_revoke(admin_client, team_a):
    with tenant_context(team_a):
        key, _raw = api_key_create(name="ci", read_only=False, created_by=None)

    response = admin_client.post(f"/settings/api-keys/{key.pk}/revoke/")

    assert response.status_code == 302
    with tenant_context(team_a):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_api_key_revoke_of_another_teams_key_is_404(admin_client, team_a, team_b):
    with tenant_context(team_b):
        key, _raw = api_key_create(name="theirs", read_only=False, created_by=None)
    with tenant_context(team_a):
        ApiKey.objects.filter(pk=key.pk).delete()  # make sure the id does not exist in team A by coincidence

    response = admin_client.post(f"/settings/api-keys/{key.pk}/revoke/")

    assert response.status_code == 404
    with tenant_context(team_b):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_api_key_pages_are_404_below_admin(team_a, make_member, client_for, role):
    client = client_for(team_a, make_member(team_a, role))

    assert client.get("/settings/api-keys/").status_code == 404
    assert client.post("/settings/api-keys/", {"name": "x"}).status_code == 404

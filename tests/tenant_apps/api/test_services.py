from datetime import timedelta

import pytest
from django.utils import timezone

from tenant_apps.api.exceptions import ApiKeyError
from tenant_apps.api.models import ApiKey
from tenant_apps.api.services import api_key_authenticate, api_key_create, api_key_revoke
from tenant_apps.audit.models import AuditEvent
from tenants.enums import Role


def test_api_key_create_returns_the_key_once_and_stores_only_a_hash(team, make_user):
    user = make_user(email="maker@example.com")

    key, raw = api_key_create(name=" CI  deploys ", read_only=False, created_by=user)

    prefix, secret = raw.split(".")
    stored = ApiKey.objects.get(pk=key.pk)
    assert key.name == "CI deploys"
    assert prefix == stored.prefix
    assert prefix.startswith("cs_")
    assert len(secret) >= 40
    assert secret not in stored.secret_hash
    assert stored.team_role == Role.EDITOR
    assert AuditEvent.objects.get(action="api_key.created").data == {"prefix": prefix, "read_only": False}


def test_api_key_create_needs_a_name(team):
    with pytest.raises(ApiKeyError) as excinfo:
        api_key_create(name="  ", read_only=False, created_by=None)

    assert excinfo.value.code == "api_key.name_required"


def test_api_key_authenticate_accepts_the_right_secret_only(team):
    key, raw = api_key_create(name="ci", read_only=True, created_by=None)
    prefix, secret = raw.split(".")

    assert api_key_authenticate(raw=raw) == key
    assert api_key_authenticate(raw=f"{prefix}.{secret[:-1]}x") is None
    assert api_key_authenticate(raw=f"{prefix}.") is None
    assert api_key_authenticate(raw="not-a-key") is None
    assert api_key_authenticate(raw=f"cs_0000000000.{secret}") is None


def test_api_key_authenticate_refuses_revoked_key(team):
    key, raw = api_key_create(name="ci", read_only=False, created_by=None)

    api_key_revoke(key=key, actor=None)

    assert api_key_authenticate(raw=raw) is None
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


def test_api_key_authenticate_writes_last_used_at_at_most_once_a_minute(team, django_assert_num_queries):
    key, raw = api_key_create(name="ci", read_only=False, created_by=None)
    with django_assert_num_queries(2):  # lookup + first last_used_at write
        api_key_authenticate(raw=raw)
    first = ApiKey.objects.get(pk=key.pk).last_used_at

    with django_assert_num_queries(1):  # lookup only
        api_key_authenticate(raw=raw)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first

    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    api_key_authenticate(raw=raw)
    assert ApiKey.objects.get(pk=key.pk).last_used_at > first


def test_api_keys_live_in_their_team_schema(team, other_team):
    from tenants.context import tenant_context

    _key, raw = api_key_create(name="ci", read_only=False, created_by=None)

    with tenant_context(other_team):
        assert api_key_authenticate(raw=raw) is None

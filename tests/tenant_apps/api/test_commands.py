import io

import pytest
from django.core.management import CommandError, call_command

from tenant_apps.api.models import ApiKey
from tenant_apps.api.services import api_key_authenticate
from tenants.context import tenant_context


@pytest.mark.parametrize("read_only", [False, True])
def test_create_api_key_prints_a_working_key(team_a, read_only):
    out, err = io.StringIO(), io.StringIO()
    args = ["--team", "alpha", "--name", "ci"] + (["--read-only"] if read_only else [])

    call_command("create_api_key", *args, stdout=out, stderr=err)

    raw = out.getvalue().strip()
    with tenant_context(team_a):
        key = api_key_authenticate(raw=raw)
        assert key is not None
        assert key.name == "ci"
        assert key.read_only is read_only
    assert "cannot be shown again" in err.getvalue()


def test_create_api_key_for_unknown_team_fails(db):
    with pytest.raises(CommandError, match="No active team"):
        call_command("create_api_key", "--team", "nope", "--name", "ci", stdout=io.StringIO())


def test_create_api_key_puts_the_key_in_that_team_only(team_a, team_b):
    call_command("create_api_key", "--team", "alpha", "--name", "ci", stdout=io.StringIO(), stderr=io.StringIO())

    with tenant_context(team_b):
        assert not ApiKey.objects.exists()

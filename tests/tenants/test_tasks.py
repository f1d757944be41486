from shared_apps.core.db import connection
from tenants import tasks
from tenants.context import tenant_context
from tenants.enums import TeamStatus
from tenants.models import Team


def test_storage_refresh_dispatch_enqueues_one_task_per_active_team_in_its_schema(team_a, team_b, monkeypatch):
    Team.objects.filter(pk=team_b.pk).update(status=TeamStatus.SUSPENDED)
    seen = []
    monkeypatch.setattr(tasks.team_storage_refresh_task, "delay", lambda: seen.append(connection.schema_name))

    count = tasks.team_storage_refresh_dispatch_task()

    assert "t_alpha" in seen
    assert "t_bravo" not in seen
    assert count == len(seen) == Team.objects.active().count()
    assert connection.schema_name == "public"


def test_storage_refresh_records_the_teams_schema_size(team_a):
    with tenant_context(team_a):
        size = tasks.team_storage_refresh_task.apply().get()

    team_a.refresh_from_db()
    assert size > 0
    assert team_a.storage_bytes == size


def test_provision_task_is_idempotent_for_an_active_team(team_a):
    assert tasks.team_provision_task.apply(kwargs={"team_id": team_a.pk}).get() == "active"

"""Through a real worker on Redis: the schema active at .delay() is the schema the task runs in."""

import pytest

from tenant_apps.audit.models import AuditEvent
from tenants.context import public_context, tenant_context
from tests.fakes.worker_tasks import audit_actions_task

pytestmark = pytest.mark.worker


@pytest.fixture
def audit_rows(committed, team_a, team_b):
    with tenant_context(team_a):
        AuditEvent.objects.create(action="alpha.only")
    with tenant_context(team_b):
        AuditEvent.objects.create(action="bravo.only")
    yield
    for team in (team_a, team_b):
        with tenant_context(team):
            AuditEvent.objects.filter(action__endswith=".only").delete()


@pytest.fixture
def team_a(committed):
    from tenants.models import Team

    return Team.objects.get(slug="alpha")


@pytest.fixture
def team_b(committed):
    from tenants.models import Team

    return Team.objects.get(slug="bravo")


def test_task_enqueued_in_team_reads_only_that_teams_rows(live_worker, audit_rows, team_a, team_b):
    with tenant_context(team_a):
        result_a = audit_actions_task.delay()
    with tenant_context(team_b):
        result_b = audit_actions_task.delay()

    assert result_a.get(timeout=20) == {"schema": "t_alpha", "actions": ["alpha.only"]}
    assert result_b.get(timeout=20) == {"schema": "t_bravo", "actions": ["bravo.only"]}


def test_task_enqueued_in_public_cannot_touch_team_tables(live_worker, audit_rows):
    with public_context():
        result = audit_actions_task.delay()

    with pytest.raises(Exception, match="audit_auditevent"):
        result.get(timeout=20)


def test_public_task_after_a_team_task_in_the_same_worker_cannot_touch_team_tables(live_worker, audit_rows, team_a):
    """Workers stay in the last task's schema between tasks; a public task must still switch back to public."""
    for _ in range(6):  # alternating on a 2-process worker: public tasks follow team tasks in the same process
        with tenant_context(team_a):
            assert audit_actions_task.delay().get(timeout=20)["schema"] == "t_alpha"
        with public_context():
            result = audit_actions_task.delay()
        with pytest.raises(Exception, match="audit_auditevent"):
            result.get(timeout=20)

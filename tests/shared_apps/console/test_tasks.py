"""The roll-up refresh copies a team's figures to public; heartbeats and the migration check land in Redis."""

from __future__ import annotations

import time

from shared_apps.console import heartbeats, selectors, tasks
from shared_apps.console.models import TeamRollup
from tenants.context import tenant_context
from tests.tenant_apps.conftest import chatbot, fake_provider, owner  # noqa: F401  (fixtures)


def test_rollup_refresh_copies_chatbots_and_sessions_from_the_team_schema(chatbot, team_a):  # noqa: F811
    with tenant_context(team_a):
        tasks.team_rollup_refresh_task()

    rollup = TeamRollup.objects.get(team=team_a)
    assert rollup.chatbots == 1
    assert rollup.sessions == 0


def test_worker_heartbeats_show_alive_and_stale_workers(db):
    from shared_apps.core.redis import get_redis

    get_redis().delete(heartbeats.workers_key())
    heartbeats.worker_heartbeat_write(hostname="chat@a", queues=["chat"])
    get_redis().hset(heartbeats.workers_key(), "old@b", '{"at": %f, "queues": ["pipelines"]}' % (time.time() - 300))

    workers = {w["hostname"]: w for w in heartbeats.workers_read()}
    queues = {q["name"]: q["served"] for q in selectors.system_health().queues}

    assert workers["chat@a"]["alive"] is True
    assert workers["old@b"]["alive"] is False
    assert queues["chat"] is True
    assert queues["pipelines"] is False
    get_redis().delete(heartbeats.workers_key())


def test_pending_migrations_check_reports_none_when_current(team_a, team_b):
    count = tasks.pending_migrations_check_task()

    assert count == 0
    assert selectors.system_health().migrations["checked"] >= 2

"""The public status page: web, chat processing and each channel kind's delivery, from the health checks."""

from __future__ import annotations

import time

import pytest

from shared_apps.console import heartbeats, status
from shared_apps.core.outcomes import outcome_record
from shared_apps.core.redis import get_redis
from tests.conftest import TeamClient


@pytest.fixture(autouse=True)
def _clean():
    status._cache.clear()
    redis = get_redis()
    keys = [*list(redis.scan_iter(match="*outcomes:delivery:*")), heartbeats.workers_key()]
    redis.delete(*keys)
    yield
    status._cache.clear()
    redis.delete(*([*list(redis.scan_iter(match="*outcomes:delivery:*")), heartbeats.workers_key()]))


def _components(client) -> dict[str, str]:
    body = client.get("/status/", {"format": "json"}).json()
    return {c["name"]: c["status"] for c in body["components"]}


def test_without_a_chat_worker_chat_processing_is_down(db):
    states = _components(TeamClient("localhost"))

    assert states["Web app and API"] == "operational"
    assert states["Chat processing"] == "down"


def test_with_a_live_chat_worker_everything_is_operational(db):
    heartbeats.worker_heartbeat_write(hostname="chat@x", queues=["chat"])

    body = TeamClient("localhost").get("/status/", {"format": "json"}).json()

    assert body["status"] == "operational"


def test_failing_callbacks_show_the_custom_api_channel_down(db):
    heartbeats.worker_heartbeat_write(hostname="chat@x", queues=["chat"])
    for _ in range(9):
        outcome_record("delivery:custom_api", ok=False)
    outcome_record("delivery:custom_api", ok=True)

    states = _components(TeamClient("localhost"))

    assert states["Custom API callbacks"] == "down"
    assert states["Website widget replies"] == "operational"


def test_status_page_renders_for_anyone(db):
    page = TeamClient("localhost").get("/status/")

    assert page.status_code == 200
    assert b'data-testid="status-components"' in page.content


def test_outcome_window_counts_only_recent_minutes(db):
    outcome_record("delivery:custom_api", ok=False, now=time.time() - 3000)
    outcome_record("delivery:custom_api", ok=True)

    from shared_apps.core.outcomes import outcome_window

    window = outcome_window("delivery:custom_api", minutes=15)

    assert (window.ok, window.failed) == (1, 0)


def test_heartbeat_urls_are_pinged_only_when_operational(db, settings, fake_llm):
    settings.STATUS_HEARTBEAT_URLS = [fake_llm.openai_base_url.rstrip("/") + "/models"]

    silent = status.heartbeats_ping()  # no chat worker: not operational, no ping
    heartbeats.worker_heartbeat_write(hostname="chat@x", queues=["chat"])
    pinged = status.heartbeats_ping()

    assert silent == 0
    assert pinged == 1

"""Liveness of the background processes, for the console's health page and the status page.

* Each Celery worker writes ``{hostname: {"at", "queues", "pid"}}`` into one Redis hash every
  ``WORKER_HEARTBEAT_SECONDS`` from its own timer (no event stream needed: workers run ``--without-gossip``).
* Beat records when it last sent a task (``before_task_publish`` inside the beat process).
A worker whose entry is older than ``STALE_AFTER_SECONDS`` is shown as missing, and dropped after a day.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from celery import signals

from shared_apps.core.redis import get_redis, key

logger = logging.getLogger(__name__)

WORKER_HEARTBEAT_SECONDS = 15
STALE_AFTER_SECONDS = 60
FORGET_AFTER_SECONDS = 86400


def workers_key() -> str:
    return key("console", "workers")


def pending_migrations_key() -> str:
    return key("console", "pending_migrations")


def beat_key() -> str:
    return key("console", "beat_last_run")


def worker_heartbeat_write(*, hostname: str, queues: list[str]) -> None:
    try:
        entry = json.dumps({"at": time.time(), "queues": queues, "pid": os.getpid()})
        get_redis().hset(workers_key(), hostname, entry)
    except Exception:  # a heartbeat must never break the worker; the page shows it missing instead
        logger.warning("worker.heartbeat_failed", extra={"hostname": hostname})


def workers_read(now: float | None = None) -> list[dict[str, Any]]:
    now = time.time() if now is None else now
    redis = get_redis()
    rows = []
    for raw_name, raw in redis.hgetall(workers_key()).items():
        name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        age = now - float(entry.get("at", 0))
        if age > FORGET_AFTER_SECONDS:
            redis.hdel(workers_key(), name)
            continue
        rows.append(
            {"hostname": name, "queues": entry.get("queues", []), "age": age, "alive": age <= STALE_AFTER_SECONDS}
        )
    return sorted(rows, key=lambda row: row["hostname"])


def beat_last_run() -> float | None:
    value = get_redis().get(beat_key())
    return float(value) if value else None


@signals.worker_ready.connect
def _worker_ready(sender: Any = None, **_: Any) -> None:
    consumer = sender
    hostname = getattr(consumer, "hostname", "") or "worker"
    queues = sorted(q.name for q in consumer.task_consumer.queues) if getattr(consumer, "task_consumer", None) else []

    def beat() -> None:
        worker_heartbeat_write(hostname=hostname, queues=queues)

    beat()
    consumer.timer.call_repeatedly(WORKER_HEARTBEAT_SECONDS, beat)


@signals.beat_init.connect
def _beat_init(**_: Any) -> None:
    signals.before_task_publish.connect(_beat_published, weak=False)


def _beat_published(**_: Any) -> None:
    try:
        get_redis().set(beat_key(), str(time.time()))
    except Exception:  # never stop beat from sending
        logger.warning("beat.heartbeat_failed")

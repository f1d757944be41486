"""Outcome counters for the public status page: how many attempts of a component (e.g. ``delivery:custom_api``)
succeeded or failed, per minute, in Redis (one pipelined round trip per outcome, keys expire after an hour).

Counters are across teams on purpose: the status page says whether *the platform* delivers, never anything about
a team. Recording never raises: a status counter must not fail a delivery.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from shared_apps.core.redis import get_redis, key

logger = logging.getLogger(__name__)

BUCKET_SECONDS = 60
KEEP_SECONDS = 3600


def _bucket_key(component: str, bucket: int) -> str:
    return key("outcomes", component, bucket)


def outcome_record(component: str, *, ok: bool, now: float | None = None) -> None:
    bucket = int((now or time.time()) // BUCKET_SECONDS)
    name = _bucket_key(component, bucket)
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.hincrby(name, "ok" if ok else "failed", 1)
        pipe.expire(name, KEEP_SECONDS)
        pipe.execute()
    except Exception:  # a counter must never fail what it counts
        logger.warning("outcome.record_failed", extra={"component": component})


@dataclass(frozen=True)
class Window:
    ok: int
    failed: int

    @property
    def total(self) -> int:
        return self.ok + self.failed

    @property
    def failure_ratio(self) -> float:
        return self.failed / self.total if self.total else 0.0


def outcome_window(component: str, *, minutes: int = 15, now: float | None = None) -> Window:
    last = int((now or time.time()) // BUCKET_SECONDS)
    pipe = get_redis().pipeline(transaction=False)
    for bucket in range(last - minutes + 1, last + 1):
        pipe.hmget(_bucket_key(component, bucket), "ok", "failed")
    ok = failed = 0
    for good, bad in pipe.execute():
        ok += int(good or 0)
        failed += int(bad or 0)
    return Window(ok=ok, failed=failed)

"""Fair share between teams (ADR 0090 §8): a team has at most its cap of turns in flight across every chat worker.

A turn takes a slot in its team's in-flight set before it runs: a Redis sorted set of message ids scored by lease
expiry, trimmed and taken in one Lua script (one round trip, atomic across workers; the clock is Redis's). A team at
its cap gets ``TeamAtCapacityError``: the task puts the turn back on the queue with a short, growing countdown (its
greenlet is freed for other teams' turns) and the turn's watchers see ``status: queued``. Slots are given back when
the turn ends; a dead worker's slots expire with their lease.

The cap is the team's plan's (``billing.enforcement.team_concurrency_cap``) or ``CHAT_TEAM_CONCURRENCY``.
Without Redis the turn runs (fairness is best effort; answering is not).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import redis
from django.conf import settings

from shared_apps.billing.enforcement import team_concurrency_cap
from shared_apps.core.db import connection
from shared_apps.core.exceptions import ApplicationError
from shared_apps.core.redis import get_redis, team_key
from tenant_apps.conversations.turn_stream import TurnPublisher

logger = logging.getLogger(__name__)

# KEYS[1] the team's in-flight set; ARGV: member, lease seconds, cap. 1 = taken (or already held), 0 = at the cap.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local lease = tonumber(ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('EXPIRE', KEYS[1], math.ceil(lease) + 1)
  return 1
end
return 0
"""


class TeamAtCapacityError(ApplicationError):
    """The team already has its cap of turns in flight: run this one a little later."""


def inflight_key() -> str:
    return team_key("turns", "inflight")


def team_cap() -> int:
    plan_cap = team_concurrency_cap(team_id=connection.tenant.pk)
    return plan_cap if plan_cap is not None else settings.CHAT_TEAM_CONCURRENCY


@cache
def _take_script() -> Any:
    return get_redis().register_script(_TAKE)  # EVALSHA: the script's text is sent once per connection at most


def slot_take(message_id: int, *, cap: int | None = None) -> bool:
    try:
        taken = _take_script()(
            keys=[inflight_key()],
            args=[str(message_id), settings.CHAT_TEAM_SLOT_LEASE_SECONDS, cap or team_cap()],
        )
    except redis.RedisError:
        logger.warning("turn.slot_unavailable", extra={"message_id": message_id})
        return True
    return bool(taken)


def slot_release(message_id: int) -> None:
    try:
        get_redis().zrem(inflight_key(), str(message_id))
    except redis.RedisError:
        logger.warning("turn.slot_release_failed", extra={"message_id": message_id})  # the lease frees it


def requeue_countdown(times_queued: int) -> float:
    """Seconds before a turn refused a slot tries again: short at first, longer while its team stays at the cap
    (so a burst of thousands costs a few re-enqueues each, not one per second), with jitter."""
    return min(5.0, 0.5 * 1.5**times_queued) * (0.75 + random.random() / 2)  # noqa: S311


@contextmanager
def team_slot(message_id: int) -> Iterator[None]:
    """Hold one of the team's in-flight slots while the turn runs; raise ``TeamAtCapacityError`` (after telling the
    turn's watchers it is queued) when the team is at its cap."""
    if not slot_take(message_id):
        publisher = TurnPublisher(schema=connection.schema_name, message_id=message_id)
        publisher.status("queued", "Many conversations of this team are being answered; yours is next in line.")
        raise TeamAtCapacityError(code="turn.team_at_capacity", message="The team is at its concurrent turn cap.")
    try:
        yield
    finally:
        slot_release(message_id)

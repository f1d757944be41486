"""Claims with a lease: a dead worker's turn is run again within seconds, a slow live one is never stolen (ADR 0065).

A claimed turn (``turn_status`` processing) holds a lease of ``CHAT_TURN_LEASE_SECONDS``: ``turn_started_at`` is the
claim's last renewal, and another delivery may claim the turn only once it is older than the lease. While the turn
runs, a heartbeat in the worker process renews the leases of all its turns every third of the lease (one UPDATE
per team with turns in flight, plus one Redis pipeline), so a slow turn keeps its claim as long as its process is
alive, and a killed process's turns go stale one lease later.

The database is the truth; Redis holds an index for fast recovery: a sorted set of the leases in flight (member
``<schema>:<message id>``, score the expiry). Every chat worker sweeps it every third of the lease
(``leases_sweep``): an expired member is taken by exactly one sweeper (``ZREM`` answers 1 once) and its turn
enqueued again in its schema. A worker that starts therefore finds the turns its dead predecessor held as soon as
their leases lapse. The beat sweep over every team's table (``turns.turns_requeue_stuck``, every 2 minutes) stays
as the backstop for anything Redis lost.

A turn taken over this way counts a *reclaim* (``reclaim_count``); a turn that has stopped its worker too often (a
crash, a hard time limit) is ended with an apology instead of being run again (``turns``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from shared_apps.core.redis import get_redis, key
from tenant_apps.conversations.enums import TurnStatus
from tenant_apps.conversations.models import ChatMessage

logger = logging.getLogger(__name__)

SWEEP_MARGIN_SECONDS = 2.0  # the index expires a little after the database's lease, so a swept turn can be claimed
RECLAIM_RECORD_SECONDS = 24 * 3600

_lock = threading.Lock()
_in_flight: dict[tuple[str, int], int] = {}  # (schema, message id) -> turns of this process holding it
_heartbeat: threading.Thread | None = None


def lease_seconds() -> float:
    return float(settings.CHAT_TURN_LEASE_SECONDS)


def stale_before() -> timedelta:
    """How old a claim's last renewal may be before its turn counts as lost with its worker."""
    return timedelta(seconds=lease_seconds())


def _index() -> str:
    return key("turn-leases")


def _member(schema: str, message_id: int) -> str:
    return f"{schema}:{message_id}"


def lease_hold(schema: str, message_id: int) -> None:
    """The turn was just claimed by this process: index its lease and keep it renewed until ``lease_end``."""
    try:
        get_redis().zadd(_index(), {_member(schema, message_id): time.time() + lease_seconds() + SWEEP_MARGIN_SECONDS})
    except redis.RedisError:
        logger.warning("turn.lease_index_unavailable")
    with _lock:
        _in_flight[(schema, message_id)] = _in_flight.get((schema, message_id), 0) + 1
    _heartbeat_ensure()


def lease_end(schema: str, message_id: int, *, finished: bool) -> None:
    """Stop renewing the turn's lease. ``finished``: it was answered or handed back, so drop it from the index too;
    otherwise (the turn crashed) the lease lapses and the sweep runs the turn again."""
    with _lock:
        count = _in_flight.get((schema, message_id), 0) - 1
        if count > 0:
            _in_flight[(schema, message_id)] = count
        else:
            _in_flight.pop((schema, message_id), None)
    if finished:
        try:
            get_redis().zrem(_index(), _member(schema, message_id))
        except redis.RedisError:
            logger.warning("turn.lease_index_unavailable")


def reclaim_count(schema: str, message_id: int) -> int:
    """Count one more takeover of a turn whose lease lapsed; returns how many so far (0 when Redis is down)."""
    name = key("turn-reclaims", schema, message_id)
    try:
        pipe = get_redis().pipeline()
        pipe.incr(name)
        pipe.expire(name, RECLAIM_RECORD_SECONDS)
        return int(pipe.execute()[0])
    except redis.RedisError:
        logger.warning("turn.lease_index_unavailable")
        return 0


def leases_renew() -> int:
    """Renew the leases of this process's turns in flight: one UPDATE per team, one Redis pipeline. Returns how
    many turns."""
    with _lock:
        held = list(_in_flight)
    if not held:
        return 0
    by_schema: dict[str, list[int]] = {}
    for schema, message_id in held:
        by_schema.setdefault(schema, []).append(message_id)
    now = timezone.now()
    table = connection.ops.quote_name(ChatMessage._meta.db_table)
    with connection.cursor() as cursor:
        for schema, ids in by_schema.items():
            cursor.execute(
                f"UPDATE {connection.ops.quote_name(schema)}.{table} SET turn_started_at = %s "  # noqa: S608
                "WHERE id = ANY(%s) AND turn_status = %s",
                [now, ids, TurnStatus.PROCESSING],
            )
    expiry = time.time() + lease_seconds() + SWEEP_MARGIN_SECONDS
    try:
        get_redis().zadd(_index(), {_member(schema, message_id): expiry for schema, message_id in held}, xx=True)
    except redis.RedisError:
        logger.warning("turn.lease_index_unavailable")
    return len(held)


def _heartbeat_ensure() -> None:
    global _heartbeat
    if _heartbeat is not None and _heartbeat.is_alive():
        return
    with _lock:
        if _heartbeat is None or not _heartbeat.is_alive():
            _heartbeat = threading.Thread(target=_heartbeat_loop, name="turn-lease-heartbeat", daemon=True)
            _heartbeat.start()


def _heartbeat_loop() -> None:
    """Every third of the lease while this process has turns in flight (a thread; a greenlet under gevent)."""
    while True:
        time.sleep(lease_seconds() / 3)
        try:
            leases_renew()
        except Exception:  # a boundary: the heartbeat must outlive a database or Redis hiccup
            logger.exception("turn.lease_renew_failed")
        finally:
            connection.close()  # the heartbeat holds no connection between beats (pooled or not)


def leases_sweep(*, enqueue: Callable[[str, int], object], limit: int = 500) -> int:
    """Enqueue again (``enqueue(schema, message_id)``) every turn whose lease lapsed; each is taken by one sweeper.
    Returns how many."""
    client = get_redis()
    expired = client.zrangebyscore(_index(), "-inf", time.time(), start=0, num=limit)
    taken = 0
    for raw in expired:
        member = raw.decode() if isinstance(raw, bytes) else str(raw)
        if not client.zrem(_index(), member):
            continue  # another sweeper took it
        schema, _, message_id = member.rpartition(":")
        try:
            enqueue(schema, int(message_id))
        except Exception:
            logger.exception("turn.lease_requeue_failed", extra={"schema": schema, "message_id": message_id})
            client.zadd(_index(), {member: time.time()})  # try again on the next sweep
            continue
        taken += 1
    if taken:
        logger.warning("turns.lease_requeued: %s", taken, extra={"count": taken})
    return taken


def sweeper_start(*, enqueue: Callable[[str, int], object]) -> threading.Thread:
    """Sweep the lease index every third of the lease, from now on, in a daemon thread of this (worker) process."""

    def loop() -> None:
        while True:
            try:
                leases_sweep(enqueue=enqueue)
            except Exception:  # a boundary: keep sweeping through a Redis or broker hiccup
                logger.exception("turn.lease_sweep_failed")
            finally:
                connection.close()  # a team lookup may have opened one: hold none between sweeps
            time.sleep(lease_seconds() / 3)

    thread = threading.Thread(target=loop, name="turn-lease-sweeper", daemon=True)
    thread.start()
    logger.info("turn.lease_sweeper_started", extra={"every_seconds": lease_seconds() / 3})
    return thread

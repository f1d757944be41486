"""Host -> team and schema -> team lookups without a database query per request or per task.

django-tenants looks the domain up on every request (~0.7 ms here) and tenant-schemas-celery looks the team up
on every task. Both go through this in-process cache instead. Invalidation: every write to a team or a domain
calls ``invalidate()``, which clears this process's entries and bumps a generation counter in Redis; other
processes compare the counter at most every ``TEAM_CACHE_CHECK_SECONDS`` and drop their entries when it moved.
If Redis cannot be reached, entries still expire after ``TEAM_CACHE_MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import redis
from django.conf import settings

from shared_apps.core.redis import get_redis, key
from tenants.models import Domain, Team

logger = logging.getLogger(__name__)

_GENERATION_KEY = "tenants:generation"


@dataclass
class _Entry:
    team: Team | None  # None = known not to exist (negative cache)
    loaded_at: float


class _TeamCache:
    def __init__(self) -> None:
        self._by_host: dict[str, _Entry] = {}
        self._by_schema: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._generation: bytes | str | None = None
        self._checked_at = 0.0

    def clear(self) -> None:
        with self._lock:
            self._by_host.clear()
            self._by_schema.clear()

    def _check_generation(self, now: float) -> None:
        if now - self._checked_at < settings.TEAM_CACHE_CHECK_SECONDS:
            return
        self._checked_at = now
        try:
            generation = get_redis().get(key(_GENERATION_KEY))
        except redis.RedisError:
            logger.warning("team_cache.generation_unavailable")
            return
        if generation != self._generation:
            self._generation = generation
            self.clear()

    def _fresh(self, entry: _Entry | None, now: float) -> bool:
        return entry is not None and now - entry.loaded_at < settings.TEAM_CACHE_MAX_AGE_SECONDS

    def by_host(self, hostname: str) -> Team | None:
        now = time.monotonic()
        self._check_generation(now)
        entry = self._by_host.get(hostname)
        if not self._fresh(entry, now):
            domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
            entry = _Entry(team=domain.tenant if domain else None, loaded_at=now)
            with self._lock:
                self._by_host[hostname] = entry
        assert entry is not None
        return entry.team

    def by_schema(self, schema_name: str) -> Team:
        now = time.monotonic()
        self._check_generation(now)
        entry = self._by_schema.get(schema_name)
        if not self._fresh(entry, now) or entry is None or entry.team is None:
            entry = _Entry(team=Team.objects.get(schema_name=schema_name), loaded_at=now)
            with self._lock:
                self._by_schema[schema_name] = entry
        assert entry.team is not None
        return entry.team


_cache = _TeamCache()


def team_for_host(hostname: str) -> Team | None:
    """The team served at ``hostname`` (the public tenant for the apex), or None for an unknown host."""
    return _cache.by_host(hostname.lower())


def team_for_schema(schema_name: str) -> Team:
    """The team owning ``schema_name``; raises ``Team.DoesNotExist``."""
    return _cache.by_schema(schema_name)


def invalidate_on_commit() -> None:
    """Invalidate once the current transaction commits (so no process re-reads the old rows meanwhile)."""
    from django.db import transaction

    transaction.on_commit(invalidate)


def invalidate() -> None:
    """Forget cached teams here and, within a second, in every other process. Call after any team/domain write."""
    _cache.clear()
    try:
        get_redis().incr(key(_GENERATION_KEY))
    except redis.RedisError:
        logger.warning("team_cache.invalidate_unavailable")

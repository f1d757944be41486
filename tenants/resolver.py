"""Host -> team and schema -> team lookups without a database query per request or per task.

django-tenants looks the domain up on every request (~0.7 ms here) and tenant-schemas-celery looks the team up
on every task. Both go through this in-process cache instead. Invalidation: every write to a team or a domain
calls ``invalidate()``, which clears this process's entries and bumps a generation counter in Redis; other
processes compare the counter at most every ``TEAM_CACHE_CHECK_SECONDS`` and drop their entries when it moved.
If Redis cannot be reached, entries still expire after ``TEAM_CACHE_MAX_AGE_SECONDS``.

Bounded (ADR 0064): anyone can send any Host header, so unknown hosts are cached apart from known ones, for
``TEAM_CACHE_UNKNOWN_SECONDS`` and at most ``TEAM_CACHE_MAX_UNKNOWN`` of them (least recently used go first): a
visitor inventing hosts costs one query each and cannot grow the cache or push real teams out. Known hosts and
schemas are capped at ``TEAM_CACHE_MAX_TEAMS`` each, least recently used first.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
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


class _Lru:
    """A dict that keeps at most ``size`` entries, dropping the least recently used. Not thread-safe by itself."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: _Entry, *, size: int) -> None:
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > size:
            self._entries.popitem(last=False)

    def pop(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()


class _TeamCache:
    def __init__(self) -> None:
        self._by_host = _Lru()
        self._unknown_hosts = _Lru()
        self._by_schema = _Lru()
        self._lock = threading.Lock()
        self._generation: bytes | str | None = None
        self._checked_at = 0.0

    def clear(self) -> None:
        with self._lock:
            self._by_host.clear()
            self._unknown_hosts.clear()
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

    def by_host(self, hostname: str) -> Team | None:
        now = time.monotonic()
        self._check_generation(now)
        with self._lock:
            entry = self._by_host.get(hostname)
            if entry is None or now - entry.loaded_at >= settings.TEAM_CACHE_MAX_AGE_SECONDS:
                entry = self._unknown_hosts.get(hostname)
                if entry is not None and now - entry.loaded_at >= settings.TEAM_CACHE_UNKNOWN_SECONDS:
                    entry = None
        if entry is not None:
            return entry.team
        domain = Domain.objects.select_related("tenant").filter(domain=hostname).first()
        entry = _Entry(team=domain.tenant if domain else None, loaded_at=now)
        with self._lock:
            if entry.team is None:
                self._by_host.pop(hostname)
                self._unknown_hosts.put(hostname, entry, size=settings.TEAM_CACHE_MAX_UNKNOWN)
            else:
                self._unknown_hosts.pop(hostname)
                self._by_host.put(hostname, entry, size=settings.TEAM_CACHE_MAX_TEAMS)
        return entry.team

    def by_schema(self, schema_name: str) -> Team:
        now = time.monotonic()
        self._check_generation(now)
        with self._lock:
            entry = self._by_schema.get(schema_name)
        if entry is None or entry.team is None or now - entry.loaded_at >= settings.TEAM_CACHE_MAX_AGE_SECONDS:
            entry = _Entry(team=Team.objects.get(schema_name=schema_name), loaded_at=now)  # unknown: raises
            with self._lock:
                self._by_schema.put(schema_name, entry, size=settings.TEAM_CACHE_MAX_TEAMS)
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

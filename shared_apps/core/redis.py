"""One Redis connection pool per process, for locks, counters and pub/sub outside Django's cache API.

Keys written through this client are not prefixed automatically: callers that store team data must put the
schema name in the key (see ``team_key``).
"""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings

from shared_apps.core.db import connection


@cache
def get_redis() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )


def key(*parts: object) -> str:
    """A key in this deployment's namespace (``<CACHE_KEY_PREFIX>:a:b``)."""
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "cs")
    return ":".join([prefix, *(str(part) for part in parts)])


def team_key(*parts: object) -> str:
    """A key for data that belongs to the active team: carries its schema name."""
    return key("team", connection.schema_name, *parts)

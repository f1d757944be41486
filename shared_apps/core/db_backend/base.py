"""django-tenants' PostgreSQL backend, plus recycling of connections that have served many schemas (ADR 0151).

A PostgreSQL backend caches the catalog entries of every relation it touches and keeps them for its lifetime:
~120 relations per team schema, so a persistent connection that serves thousands of teams grows by megabytes per
hundred teams. Every ``SET search_path`` to a schema the physical connection has not seen is counted on it; once it
has seen ``DB_RECYCLE_AFTER_SCHEMAS`` schemas it is closed at the next safe point:

* a persistent connection (web, prefork workers): at the next request/task boundary
  (``close_if_unusable_or_obsolete``, which Django calls at request start and end and Celery around tasks);
* a pooled connection (``OPTIONS["pool"]``, the gevent chat worker): when it is handed back to the pool, which then
  discards it and opens a fresh one.

Never mid-transaction and never between two statements of one block, so session state (advisory locks) is safe.
``0`` turns recycling off.
"""

from __future__ import annotations

import weakref
from typing import Any

from django.conf import settings
from django_tenants.postgresql_backend import base as tenants_base

_touched: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


def schemas_touched(raw: Any) -> int:
    """How many distinct schemas this physical (psycopg) connection has served."""
    return len(_touched.get(raw, ()))


def _limit() -> int:
    return int(getattr(settings, "DB_RECYCLE_AFTER_SCHEMAS", 0) or 0)


def _raw(wrapper: Any) -> Any:
    """The wrapper's psycopg connection (None when not connected)."""
    return getattr(wrapper, "connection", None)


class DatabaseWrapper(tenants_base.DatabaseWrapper):  # type: ignore[misc]
    def _handle_search_path(self, cursor: Any = None) -> None:
        before = self.search_path_set_schemas
        super()._handle_search_path(cursor)
        raw = _raw(self)
        if self.search_path_set_schemas is not before and raw is not None and self.schema_name:
            seen = _touched.get(raw)
            if seen is None:
                seen = _touched[raw] = set()
            seen.add(self.schema_name)

    def recycle_due(self) -> bool:
        limit = _limit()
        raw = _raw(self)
        return bool(limit) and raw is not None and schemas_touched(raw) >= limit

    def close_if_unusable_or_obsolete(self) -> None:
        super().close_if_unusable_or_obsolete()
        if self.recycle_due() and not self.in_atomic_block:
            self.close()

    def _close(self) -> Any:
        if self.pool and self.recycle_due():
            # A closed connection handed back is discarded by the pool (and replaced up to min_size).
            raw = _raw(self)
            raw.close()
            raw._pool.putconn(raw)
            self.connection = None
            return None
        return super()._close()

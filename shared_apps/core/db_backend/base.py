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

A pooled connection also remembers the ``search_path`` it carries (ADR 0090): a turn in the gevent chat worker
checks a connection out for each burst of statements, and django-tenants forgets the schema it set whenever Django
hands the connection back, so every checkout began with a ``SET search_path`` round trip. The path is session state
that stays with the connection in the pool, so it is noted on the psycopg connection when it is handed back idle
(outside any transaction, where nothing can undo it) and trusted again by a checkout that wants the same path.
tests/shared_apps/core/test_postgresql_backend.py holds it.
"""

from __future__ import annotations

import weakref
from typing import Any

from django.conf import settings
from django_tenants.postgresql_backend import base as tenants_base

_touched: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_NOTE = "_chatstudio_search_path"  # on a pooled psycopg connection: the search_path it carries


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

    def close(self) -> None:
        raw = _raw(self)
        if raw is not None and self.pool and not self.in_atomic_block and self.search_path_set_schemas:
            setattr(raw, _NOTE, list(self.search_path_set_schemas))
        super().close()

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        raw = super().get_new_connection(conn_params)
        if self.pool:
            noted = getattr(raw, _NOTE, None)
            setattr(raw, _NOTE, None)  # trusted once: noted again only when handed back idle
            if noted is not None and self.schema_name and noted == self._get_cursor_search_paths():
                self.search_path_set_schemas = noted
        return raw

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

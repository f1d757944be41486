"""django-tenants' PostgreSQL backend, plus: a pooled connection remembers the ``search_path`` it carries.

With a connection pool (the gevent chat worker, ADR 0090) a turn checks a connection out for each burst of
statements, and django-tenants forgets the schema it set whenever Django "closes" (hands back) the connection, so
every checkout began with a ``SET search_path`` round trip. The path set on a connection is session state that
stays with it in the pool, so it is noted on the psycopg connection when it is handed back idle (outside any
transaction, where nothing can undo it) and trusted again when a checkout wants the same path. Without a pool
nothing changes. tests/shared_apps/core/test_postgresql_backend.py holds the behaviour.
"""

from __future__ import annotations

from typing import Any

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

_NOTE = "_chatstudio_search_path"


class DatabaseWrapper(TenantDatabaseWrapper):
    def close(self) -> None:
        raw = self.connection
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

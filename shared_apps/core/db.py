"""The schema-aware default connection, typed for django-tenants' additions (``schema_name``, ``set_tenant`` …).

It lives in core, the floor, so anything that must name the active schema (Redis keys, file paths, log fields)
can do so without importing ``tenants``.

``django.db.connection`` is a proxy to the current thread's connection, so this alias is always the live one.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection as _connection

connection: Any = _connection


def pooled() -> bool:
    """Whether this process draws its connections from a pool (the gevent chat worker, ADR 0090)."""
    return bool(connection.settings_dict["OPTIONS"].get("pool"))


def connection_release() -> None:
    """Hand the current (green)thread's connection back to the pool, so nothing holds it while it waits on a model,
    an HTTP call or a sandbox. The next statement checks one out again (and django-tenants sets the schema on it).

    A no-op without a pool (web and prefork workers keep their persistent connection, ADR 0040) and inside a
    transaction (which must finish on the connection it started on)."""
    if connection.connection is not None and not connection.in_atomic_block and pooled():
        connection.close()


@contextmanager
def statements_only() -> Iterator[None]:
    """A block of database work after which the connection goes back to the pool (see ``connection_release``)."""
    try:
        yield
    finally:
        connection_release()

"""The schema-aware default connection, typed for django-tenants' additions (``schema_name``, ``set_tenant`` …).

It lives in core, the floor, so anything that must name the active schema (Redis keys, file paths, log fields)
can do so without importing ``tenants``.

``django.db.connection`` is a proxy to the current thread's connection, so this alias is always the live one.
"""

from typing import Any

from django.db import connection as _connection

connection: Any = _connection

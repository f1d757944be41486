import logging

from shared_apps.core.db import connection


class TeamContextFilter(logging.Filter):
    """Adds ``schema_name`` to every log record so each line says which team it concerns."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.schema_name = getattr(connection, "schema_name", "-") or "-"
        return True

"""Structured log lines: one JSON object per record with the request id, team schema and user id.

``RequestContextFilter`` stamps ``request_id`` and ``user_id`` on every record (``tenants.logging`` adds
``schema_name``); ``JsonFormatter`` writes the record and whatever ``extra=`` it was given as one line of JSON,
which log collectors (Loki, CloudWatch, Datadog) index without a parsing rule. ``LOG_FORMAT=plain`` keeps the
human-readable line for development.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from shared_apps.core.request_context import current_user_id, request_id_var

# Attributes every LogRecord has: anything else on a record came from ``extra=`` and is written as a field.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_MAX_FIELD_CHARS = 4000  # one runaway value must not make a line too long for the collector


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.user_id = current_user_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "schema": getattr(record, "schema_name", "-"),
            "user_id": getattr(record, "user_id", None),
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in entry and name not in ("schema_name",):
                entry[name] = _plain(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value[:_MAX_FIELD_CHARS] if isinstance(value, str) else value
    text = str(value)
    return text[:_MAX_FIELD_CHARS]

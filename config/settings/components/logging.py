# ------------------------------------------------------------------------------
# Logging: one line per event, with the request id, team schema and user id on every record.
# LOG_FORMAT=json (production default) writes one JSON object per line; plain is for reading in a terminal.
# ------------------------------------------------------------------------------
from typing import Any

from config.env import env_str

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "plain")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "team": {"()": "tenants.logging.TeamContextFilter"},
        "request": {"()": "shared_apps.core.logformat.RequestContextFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)-7s [%(schema_name)s %(request_id)s] %(name)s: %(message)s"},
        "json": {"()": "shared_apps.core.logformat.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["team", "request"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        "anthropic": {"level": "WARNING"},
    },
}

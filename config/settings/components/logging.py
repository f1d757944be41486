# ------------------------------------------------------------------------------
# Logging: one line per event, with the team schema on every record.
# ------------------------------------------------------------------------------
from typing import Any

from config.env import env_str

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"team": {"()": "tenants.logging.TeamContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)-7s [%(schema_name)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["team"]},
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

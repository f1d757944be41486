# ------------------------------------------------------------------------------
# Redis: cache (keys prefixed with the schema name), sessions, locks and the Celery broker.
# ------------------------------------------------------------------------------
from config.env import env_str

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

CACHES = {
    "default": {
        "BACKEND": "shared_apps.core.cache.RedisCache",  # one Redis client per pool, not per call
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cs"),
        # Anything cached while a team is active carries that team's schema name.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    },
    # Not schema-prefixed: session keys are global random strings and logout must reach every host.
    "sessions": {
        "BACKEND": "shared_apps.core.cache.RedisCache",  # one Redis client per pool, not per call
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cs") + ":sess",
    },
}

SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "sessions"

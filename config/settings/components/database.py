# ------------------------------------------------------------------------------
# Database: PostgreSQL through django-tenants' backend; persistent connections in web and worker.
# ------------------------------------------------------------------------------
from typing import Any, cast

from config.env import database_from_url, env_bool, env_float, env_int, env_str

DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chatstudio")
DATABASES = {"default": database_from_url(DATABASE_URL)}
# A new connection per request cut a small view from ~720 to ~190 req/s on this hardware: keep them.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600)
# A health check is a `SELECT 1` round trip before every request's and task's first query (3 per chat turn).
# Without it a connection the server dropped fails one request, which Django then closes and replaces. ADR 0040.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", False)
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_chatstudio")}
# Server-side parameter binding lets psycopg prepare a statement the second time a connection runs it: PostgreSQL
# then skips parsing and planning. A prepared plan is re-planned if search_path changes, so it is safe across team
# schemas (tests/tenants/test_prepared_statements.py). ADR 0040.
DATABASES["default"]["OPTIONS"] = {
    **cast(dict[str, Any], DATABASES["default"].get("OPTIONS") or {}),
    "server_side_binding": env_bool("DB_SERVER_SIDE_BINDING", True),
    "prepare_threshold": env_int("DB_PREPARE_THRESHOLD", 2),
}


def _green_process() -> bool:
    """True in a process whose sockets gevent patched (the chat worker, ``celery worker -P gevent``: Celery patches
    before it loads anything else, so before these settings)."""
    import sys

    gevent_monkey = sys.modules.get("gevent.monkey")
    return gevent_monkey is not None and bool(gevent_monkey.is_module_patched("socket"))


# A connection pool (psycopg_pool through Django's OPTIONS["pool"]) where many turns run at once in one process: the
# chat worker runs every turn as a greenlet and a turn holds a connection only for its statements (ADR 0090), so
# 1,000 turns in flight share a few connections. On by default in a gevent process, off elsewhere (web and the
# prefork workers keep one persistent connection per thread/process, ADR 0040). A pool needs CONN_MAX_AGE 0:
# "closing" a connection hands it back to the pool.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 10 if _green_process() else 0)
if DB_POOL_MAX_SIZE > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"]["pool"] = {  # type: ignore[index]
        "min_size": min(env_int("DB_POOL_MIN_SIZE", 2), DB_POOL_MAX_SIZE),
        "max_size": DB_POOL_MAX_SIZE,
        "timeout": env_float("DB_POOL_TIMEOUT_SECONDS", 30.0),  # a turn waiting longer for a connection fails
    }
    # Celery's Django fixup then "closes" (hands back) the task's connection before and after every task: a
    # greenlet's connection must never outlive its task (reusing it, CELERY_DB_REUSE_MAX, would leak it).
    CELERY_DB_REUSE_MAX = 0

# A backend caches every relation it touches (~120 per team schema) for its lifetime: a connection that has served
# this many distinct schemas is closed at the next request/task boundary, or discarded when handed back to the pool
# (shared_apps/core/db_backend, ADR 0151; figures in bench/RESULTS.md "Backend memory"). 0 = never.
DB_RECYCLE_AFTER_SCHEMAS = env_int("DB_RECYCLE_AFTER_SCHEMAS", 50)

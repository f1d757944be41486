# ------------------------------------------------------------------------------
# Database: PostgreSQL through django-tenants' backend; persistent connections in web and worker.
# ------------------------------------------------------------------------------
from typing import Any, cast

from config.env import database_from_url, env_bool, env_int, env_str

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

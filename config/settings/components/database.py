# ------------------------------------------------------------------------------
# Database: PostgreSQL through django-tenants' backend; persistent connections in web and worker.
# ------------------------------------------------------------------------------
from config.env import database_from_url, env_bool, env_int, env_str

DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chatstudio")
DATABASES = {"default": database_from_url(DATABASE_URL)}
# A new connection per request cut a small view from ~720 to ~190 req/s on this hardware: keep them.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600)
# A health check is a `SELECT 1` round trip before every request's and task's first query (3 per chat turn).
# Without it a connection the server dropped fails one request, which Django then closes and replaces. ADR 0040.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", False)
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_chatstudio")}

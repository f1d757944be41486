"""Test runs: fast hashing, real PostgreSQL schemas and real Redis.

Each pytest-xdist worker gets its own Redis database number, so brokers, caches and locks never collide. Two
checkouts can test at once on one machine: the test database is named after the checkout's path, and the test
command (infra/dev/test.sh) gives each run a Redis server of its own (``TEST_REDIS_SERVER``).
"""

import hashlib
import os
from pathlib import Path

_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_index = int(_worker[2:]) if _worker[2:].isdigit() else 0
os.environ.setdefault("ALLOW_PRIVATE_URLS", "true")
# TEST_REDIS_SERVER lets parallel checkouts use separate Redis servers (brokers must not be shared).
os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379") + f"/{9 + _index}"
os.environ["CACHE_KEY_PREFIX"] = f"cstest{_index}"
_checkout = hashlib.sha256(str(Path(__file__).resolve().parents[2]).encode()).hexdigest()[:8]
os.environ.setdefault("TEST_DATABASE_NAME", f"test_chatstudio_{_checkout}")  # xdist adds _gw0, _gw1, ...

from config.settings.base import *  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
ACCOUNT_RATE_LIMITS = False
APP_RATE_LIMITS_ENABLED = False  # tests that check limits turn both on (fixture rate_limits_on)
LOGGING["root"]["level"] = "WARNING"
TEAM_CACHE_CHECK_SECONDS = 0  # tests see invalidations at once
TEAM_SPARE_SCHEMAS = 0  # tests clone at provisioning; tests/tenants/test_spares.py turns spares on

import tempfile  # noqa: E402

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="chatstudio-test-media-"))  # uploads and exports never land in the checkout
BILLING_CACHE_CHECK_SECONDS = 0  # tests see billing changes at once

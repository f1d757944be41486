"""Test runs: fast hashing, real PostgreSQL schemas and real Redis (a separate database number)."""

import os

os.environ.setdefault("ALLOW_PRIVATE_URLS", "true")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
os.environ.setdefault("CACHE_KEY_PREFIX", "cstest")

from config.settings.base import *

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
ACCOUNT_RATE_LIMITS = False
LOGGING["root"]["level"] = "WARNING"

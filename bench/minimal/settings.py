"""A bare "minimal turn" Django project, tuned the same way as the product (persistent connections, gthread,
Celery reusing its connection): the ceiling a full turn is measured against in bench/turns.py."""

import os

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["bench.minimal"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.minimal.urls"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("MINIMAL_DB", "bench_minimal"),
        "USER": "postgres",
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 600,
    }
}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CELERY_BROKER_URL = os.environ.get("MINIMAL_REDIS", "redis://127.0.0.1:6379/15")
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4

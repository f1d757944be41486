"""Celery app for test workers: the product's app plus the test-only tasks in ``worker_tasks``.

Started by the ``live_worker`` fixture as ``celery -A tests.fakes.worker_app worker``.
"""

from config.celery import app
from tests.fakes import worker_tasks  # noqa: F401  (registers the test tasks)

__all__ = ["app"]

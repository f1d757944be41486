"""Liveness and readiness, answered on every host (and on none: probes send a pod IP as Host).

* ``/healthz``: the process is up and answering; touches nothing (a database outage must not make an
  orchestrator restart every web process, which would not fix it).
* ``/readyz``: this process can serve: the database answers, Redis answers, and the public schema has every
  migration of the code (a process of a newer release waits for ``migrate_teams`` before taking traffic).

``HealthMiddleware`` answers both before host resolution, sessions or anything else that queries. Team schemas
with pending migrations are shown on the console's health page, not here: one team behind must not take
every web process out of the load balancer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from shared_apps.core.db import connection

logger = logging.getLogger(__name__)

HEALTH_PATHS = ("/healthz", "/readyz")


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(value == "ok" for value in self.checks.values())


def database_check() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def redis_check() -> str:
    from shared_apps.core.redis import get_redis

    return "ok" if get_redis().ping() else "no answer"


_expected: set[tuple[str, str]] | None = None


def _shared_app_labels() -> list[str]:
    from django.apps import apps

    labels = []
    for name in settings.SHARED_APPS:
        config = next((c for c in apps.get_app_configs() if c.name == name), None)
        if config is not None:
            labels.append(config.label)
    return labels


def migrations_check() -> str:
    """Every leaf migration of the public apps is recorded in ``public.django_migrations`` (named with its schema:
    on a team host the search path starts with the team's schema, which has a table of that name too)."""
    from django.db.migrations.loader import MigrationLoader

    global _expected
    if _expected is None:
        labels = set(_shared_app_labels())
        loader = MigrationLoader(None, ignore_no_migrations=True)
        _expected = {node for node in loader.graph.leaf_nodes() if node[0] in labels}
    with connection.cursor() as cursor:
        cursor.execute("SELECT app, name FROM public.django_migrations")
        applied = set(cursor.fetchall())
    missing = _expected - applied
    return "ok" if not missing else f"{len(missing)} pending"


CHECKS: dict[str, Callable[[], str]] = {
    "database": database_check,
    "redis": redis_check,
    "migrations": migrations_check,
}


def readiness() -> Readiness:
    started = time.perf_counter()
    report = Readiness()
    for name, check in CHECKS.items():
        try:
            report.checks[name] = check()
        except Exception as exc:  # a probe reports every failure as "not ready", never as a crash
            report.checks[name] = f"error: {type(exc).__name__}"
            logger.warning("readiness.failed", extra={"check": name, "error": type(exc).__name__})
            if name == "database":
                _connection_discard()
    report.seconds = time.perf_counter() - started
    return report


def _connection_discard() -> None:
    """A failed query leaves a broken (or aborted) connection: close it so the next request opens a fresh one
    instead of failing on the dead socket (recovery without a restart)."""
    try:
        connection.close()
    except Exception:  # closing a dead connection can raise; it is gone either way
        logger.debug("readiness.close_failed")


def liveness_response() -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readiness_response() -> JsonResponse:
    report = readiness()
    body = {"status": "ok" if report.ok else "unavailable", "checks": report.checks}
    return JsonResponse(body, status=200 if report.ok else 503)


class HealthMiddleware:
    """First in the stack: ``/healthz`` and ``/readyz`` on any Host, with no session, host lookup or CSRF."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in HEALTH_PATHS and request.method in ("GET", "HEAD"):
            if request.path_info == "/healthz":
                return liveness_response()
            return readiness_response()
        return self.get_response(request)

"""The public status page (apex ``/status/``): is the platform up, are turns processed, do replies reach each
channel kind. Fed by the same checks as ``/readyz`` and the console's health page, plus per-minute delivery
outcome counters (``shared_apps.core.outcomes``) — nothing about any team is shown.

A component is ``operational``, ``degraded`` or ``down``. Computed at most every ``CACHE_SECONDS`` per process, so
the page costs nothing under a crowd of refreshes during an incident.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings

from config.celery import Queue
from shared_apps.console import heartbeats
from shared_apps.console.selectors import queue_depths
from shared_apps.core import health
from shared_apps.core.outcomes import outcome_window

logger = logging.getLogger(__name__)

OPERATIONAL, DEGRADED, DOWN = "operational", "degraded", "down"
CACHE_SECONDS = 10
CHAT_BACKLOG_DEGRADED = 2000  # turns waiting on the chat queue before we call processing slow
DELIVERY_FAILURE_DEGRADED = 0.2
DELIVERY_FAILURE_DOWN = 0.8
DELIVERY_MIN_ATTEMPTS = 5  # fewer attempts in the window say nothing either way


@dataclass(frozen=True)
class Component:
    name: str
    status: str
    detail: str


@dataclass
class Status:
    components: list[Component] = field(default_factory=list)
    at: float = 0.0

    @property
    def overall(self) -> str:
        states = {c.status for c in self.components}
        return DOWN if DOWN in states else DEGRADED if DEGRADED in states else OPERATIONAL


_cache: dict[str, Status] = {}


def status_get(*, fresh: bool = False) -> Status:
    cached = _cache.get("status")
    if cached is not None and not fresh and time.time() - cached.at < CACHE_SECONDS:
        return cached
    status = Status(components=[_web(), _chat(), *_deliveries()], at=time.time())
    _cache["status"] = status
    return status


def _web() -> Component:
    report = health.readiness()
    if report.ok:
        return Component("Web app and API", OPERATIONAL, "Pages and APIs answer.")
    failing = ", ".join(name for name, value in report.checks.items() if value != "ok")
    return Component("Web app and API", DOWN, f"Not ready: {failing}.")


def _chat() -> Component:
    name = "Chat processing"
    try:
        workers = heartbeats.workers_read()
    except Exception:  # Redis down: the web component already says so
        logger.warning("status.heartbeats_unreadable")
        return Component(name, DOWN, "Worker state unknown.")
    alive = any(w["alive"] and Queue.CHAT.value in w["queues"] for w in workers)
    depth = queue_depths().get(Queue.CHAT.value)
    if not alive:
        return Component(name, DOWN, "No chat worker is running: replies are delayed.")
    if depth is not None and depth > CHAT_BACKLOG_DEGRADED:
        return Component(name, DEGRADED, "Replies are slower than usual.")
    return Component(name, OPERATIONAL, "Replies are being produced.")


def _deliveries() -> list[Component]:
    components = []
    for kind, label in settings.STATUS_CHANNEL_KINDS:
        try:
            window = outcome_window(f"delivery:{kind}", minutes=15)
        except Exception:  # Redis down
            logger.warning("status.outcomes_unreadable")
            components.append(Component(label, DEGRADED, "Delivery state unknown."))
            continue
        if window.total < DELIVERY_MIN_ATTEMPTS:
            components.append(Component(label, OPERATIONAL, "No recent delivery problems."))
        elif window.failure_ratio >= DELIVERY_FAILURE_DOWN:
            components.append(Component(label, DOWN, "Most replies fail to reach their destination."))
        elif window.failure_ratio >= DELIVERY_FAILURE_DEGRADED:
            components.append(Component(label, DEGRADED, "Some replies are delayed and retried."))
        else:
            components.append(Component(label, OPERATIONAL, "Replies are delivered."))
    return components


def heartbeats_ping() -> int:
    """Beat, every minute: ping each configured heartbeat URL (BetterStack, Healthchecks.io, Cronitor ...) while
    the platform is operational; a monitor that stops hearing from us alerts. Returns how many answered."""
    from shared_apps.core.http import HttpRequestError, UnsafeUrlError, safe_request

    urls = settings.STATUS_HEARTBEAT_URLS
    if not urls or status_get(fresh=True).overall != OPERATIONAL:
        return 0
    answered = 0
    for url in urls:
        try:
            response = safe_request("GET", url, timeout=5.0, max_response_bytes=64 * 1024)
        except (HttpRequestError, UnsafeUrlError):
            logger.warning("status.heartbeat_unreachable")
            continue
        answered += int(response.status < 400)
    return answered

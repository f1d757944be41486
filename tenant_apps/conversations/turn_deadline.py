"""The whole turn's time limit, enforced the same way under the prefork and the gevent chat worker (ADR 0065).

Celery's soft time limit is a signal to a prefork child; the gevent pool has none (its hard limit is a
``gevent.Timeout`` around the task). So the turn arms its own limit around the pipeline run: a ``gevent.Timeout``
in the turn's greenlet when the process is monkey-patched, else a ``SIGALRM`` timer when the turn runs in a
process's main thread (a prefork child, a solo worker). Either raises ``RunTimeLimitError`` into the run: inside a
node it fails that node like any node error (the trace names it); between nodes the executor's own check of
``RunContext.deadline`` does the same where nothing can be interrupted (threads, CPU-bound stretches under gevent).
The turn then stores the apology and the error trace. The task's Celery limits sit behind this one: a soft limit a
little later (for a turn stuck outside its pipeline) and the hard limit, which ends the process or greenlet.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from tenant_apps.pipelines.engine.limits import RunTimeLimitError


def turn_time_limit() -> float:
    """Seconds a turn's pipeline may run (``CHAT_TURN_SOFT_LIMIT``)."""
    return float(settings.CHAT_TURN_SOFT_LIMIT)


def _gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("socket"))


@contextmanager
def turn_deadline(seconds: float) -> Iterator[float]:
    """Run the block with a limit of ``seconds``; yields the ``time.monotonic()`` deadline for cooperative checks."""
    deadline = time.monotonic() + seconds
    if _gevent_patched():
        import gevent

        with gevent.Timeout(seconds, RunTimeLimitError(seconds)):
            yield deadline
        return
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield deadline  # no way to interrupt this thread: the executor checks the deadline between nodes
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise RunTimeLimitError(seconds)

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield deadline
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

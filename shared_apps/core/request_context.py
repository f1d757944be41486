"""What the current request is, for log lines and error reports that are written far from the view.

A context variable (not a thread local) so it follows greenlets and asyncio tasks. ``RequestIdMiddleware`` sets
it first thing and clears it after the response; Celery tasks and management commands have none (``-``).
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
request_var: ContextVar[Any] = ContextVar("request", default=None)


def request_id_from(incoming: str | None) -> str:
    """An id a proxy sent us (kept when it looks like an id: bounded, no spaces or control characters), or a
    new one. Keeping the proxy's id lets one id follow a request through nginx, the app and the logs."""
    if incoming and _VALID_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def current_user_id() -> int | None:
    """The logged-in user's id when the request has already loaded its user, else None.

    Never loads the user itself: a log line must not cost a session read and a query (the chat hot path logs)."""
    request = request_var.get()
    if request is None:
        return None
    user = request.__dict__.get("_cached_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "pk", None)

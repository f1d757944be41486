"""Error reports to Sentry without secrets or conversation contents.

``sentry_options`` is what ``config/settings/components/observability.py`` passes to ``sentry_sdk.init`` when
``SENTRY_DSN`` is set: the Django, Celery and Redis integrations, no default PII, and ``scrub_event`` as
``before_send`` / ``before_breadcrumb``. Every event is tagged with the team schema and the request id, so a
report leads to the team and to the request's log lines.

What is removed, wherever it appears in the event (request, extra, contexts, breadcrumbs, stack frame locals):
* values under keys that name a secret (password, token, api key, authorization, cookie, secret, dsn ...);
* values under keys that hold what people wrote to a chatbot or what it answered (message, text, content,
  prompt, reply, history, transcript, participant data, session state, SQL parameters);
* secret-looking substrings anywhere else (``sk-…``, ``Bearer …``, Slack and Stripe keys, Fernet tokens).
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"

_SECRET_KEY = re.compile(
    r"pass(word|wd)?|secret|token|api[_-]?key|authori[sz]ation|cookie|csrf|sessionid|session_key|dsn|fernet|"
    r"credential|private|signature|bearer|\bauth\b|x[_-]api[_-]key|embed[_-]?key",
    re.IGNORECASE,
)
_CONTENT_KEY = re.compile(
    r"^(message|messages|text|content|contents|prompt|prompts|completion|reply|replies|history|transcript|body|"
    r"inbound|outbound|participant_data|session_state|temp_state|state|params|input|output|query_string|data)$",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|Bearer\s+[A-Za-z0-9._\-~+/]+=*|xox[abposr]-[A-Za-z0-9\-]+|"
    r"(sk|rk|pk|whsec)_(live|test)_[A-Za-z0-9]+|gAAAAA[A-Za-z0-9_\-=]{20,}|cs_[a-z0-9]{6,}\.[A-Za-z0-9_\-]{16,})"
)
_MAX_DEPTH = 12
# Keys Sentry itself uses for structure: their values are walked, never replaced wholesale.
_STRUCTURAL = frozenset({"exception", "values", "stacktrace", "frames", "breadcrumbs", "contexts", "request", "extra"})


def scrub_value(value: Any, *, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        return FILTERED
    if isinstance(value, str):
        return _SECRET_VALUE.sub(FILTERED, value)
    if isinstance(value, dict):
        return {k: _scrub_item(k, v, depth) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, depth=depth + 1) for v in value]
    return value


def _scrub_item(key: Any, value: Any, depth: int) -> Any:
    name = str(key)
    if name not in _STRUCTURAL and (_SECRET_KEY.search(name) or _CONTENT_KEY.match(name)):
        return FILTERED if value not in (None, "", [], {}) else value
    return scrub_value(value, depth=depth + 1)


def scrub_event(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_send``: scrub the whole event and tag it with the team schema and the request id."""
    request = event.get("request")
    if isinstance(request, dict):
        for part in ("data", "cookies", "query_string"):
            if request.get(part):
                request[part] = FILTERED
    title = event.pop("message", None)  # an event's title (a log event name such as "turn.failed")
    logentry = event.pop("logentry", None)
    crumbs = event.pop("breadcrumbs", None)
    scrubbed: dict[str, Any] = scrub_value(event)
    if title is not None:
        scrubbed["message"] = scrub_value(title)
    if isinstance(logentry, dict):
        scrubbed["logentry"] = {"message": scrub_value(logentry.get("message", "")), "params": FILTERED}
    if isinstance(crumbs, dict):
        scrubbed["breadcrumbs"] = {**crumbs, "values": [scrub_breadcrumb(c) for c in crumbs.get("values", [])]}
    tags = scrubbed.setdefault("tags", {})
    if isinstance(tags, dict):
        tags.update(_context_tags())
    return scrubbed


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_breadcrumb``: a breadcrumb keeps its message (a log event name, an SQL statement with placeholders)
    but its data (SQL parameters, log ``extra``) is scrubbed like the rest."""
    message = crumb.get("message")
    scrubbed: dict[str, Any] = scrub_value({k: v for k, v in crumb.items() if k != "message"})
    if message is not None:
        scrubbed["message"] = scrub_value(message)
    return scrubbed


def _context_tags() -> dict[str, str]:
    from shared_apps.core.request_context import request_id_var

    tags = {"request_id": request_id_var.get()}
    try:
        from shared_apps.core.db import connection

        tags["team_schema"] = getattr(connection, "schema_name", "-") or "-"
    except Exception:  # outside Django (a bare script) there is no connection to name
        tags["team_schema"] = "-"
    return tags


def sentry_options(*, dsn: str, environment: str, release: str = "") -> dict[str, Any]:
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration
    from sentry_sdk.integrations.redis import RedisIntegration

    return {
        "dsn": dsn,
        "environment": environment,
        "release": release or None,
        "integrations": [
            DjangoIntegration(),
            CeleryIntegration(monitor_beat_tasks=False),
            RedisIntegration(),
            LoggingIntegration(),
        ],
        # No user identity, request bodies, SQL parameters or queue payloads are collected (they carry secrets and
        # what people wrote); stack frame variables are, and before_send scrubs them.
        "data_collection": {
            "user_info": False,
            "http_bodies": [],
            "database_query_data": False,
            "queues": False,
            "stack_frame_variables": True,
        },
        "max_request_body_size": "never",
        "before_send": scrub_event,
        "before_breadcrumb": scrub_breadcrumb,
        "traces_sample_rate": 0.0,
    }

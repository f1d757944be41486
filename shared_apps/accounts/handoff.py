"""Carry a login from the apex to a team host, and end it everywhere at logout.

Each host keeps its own session cookie (no cookie shared across subdomains, so custom domains work too). After
login on the apex the browser is sent to ``<team host>/auth/handoff/?token=...``: a signed token that names the
user, the team and the page to land on, valid for ``HANDOFF_MAX_AGE`` seconds and only once (its nonce is
deleted from Redis when redeemed).

All sessions born from one apex login share a *login group*; logging out on any host deletes every session in
the group, so "log out" really ends the login on the apex and on every team host.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from importlib import import_module
from typing import Any

import redis
from django.conf import settings
from django.core import signing
from django.http import HttpRequest

from shared_apps.core.redis import get_redis, key

logger = logging.getLogger(__name__)

HANDOFF_MAX_AGE = 60
MAX_CARRIED_MESSAGES = 5  # toasts carried to the team host (e.g. "You joined Acme"), each cut to 300 characters
_SALT = "accounts.handoff"
_GROUP_SESSION_KEY = "_login_group"


class HandoffError(Exception):
    pass


def handoff_token_create(
    *, user_id: int, team_id: int, next_path: str, login_group: str, messages: Sequence[tuple[int, str]] = ()
) -> str:
    """``messages`` (level, text) are the toasts the apex had pending: the team host shows them, where the action
    led, instead of the apex showing them whenever the user next comes back to it."""
    nonce = secrets.token_urlsafe(16)
    get_redis().set(key("handoff", nonce), "1", ex=HANDOFF_MAX_AGE, nx=True)
    payload: dict[str, Any] = {"u": user_id, "t": team_id, "n": nonce, "p": safe_next_path(next_path), "g": login_group}
    carried = [[int(level), str(text)[:300]] for level, text in list(messages)[:MAX_CARRIED_MESSAGES]]
    if carried:
        payload["m"] = carried
    return signing.dumps(payload, salt=_SALT, compress=True)


def handoff_token_redeem(*, token: str, team_id: int) -> dict[str, Any]:
    """Check signature, age, team and single use. Raises ``HandoffError`` with a reason for the log."""
    try:
        payload = signing.loads(token, salt=_SALT, max_age=HANDOFF_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise HandoffError("expired") from exc
    except signing.BadSignature as exc:
        raise HandoffError("bad_signature") from exc
    if payload.get("t") != team_id:
        raise HandoffError("wrong_team")
    if not get_redis().delete(key("handoff", payload["n"])):
        raise HandoffError("already_used")
    return payload


def safe_next_path(path: str | None) -> str:
    """Only same-host absolute paths survive (no scheme, no host, no protocol-relative ``//``)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def login_group_of(request: HttpRequest) -> str:
    """The login group of this session, creating one (the apex login starts a group)."""
    group = request.session.get(_GROUP_SESSION_KEY)
    if not group:
        group = secrets.token_urlsafe(16)
        request.session[_GROUP_SESSION_KEY] = group
    return str(group)


def login_group_join(request: HttpRequest, group: str) -> None:
    """Record this host's session in ``group`` (after ``login()``, which rotates the session key)."""
    request.session[_GROUP_SESSION_KEY] = group
    if request.session.session_key is None:
        request.session.save()
    group_key = key("login_group", group)
    try:
        pipe = get_redis().pipeline()
        pipe.sadd(group_key, str(request.session.session_key))
        pipe.expire(group_key, settings.SESSION_COOKIE_AGE)
        pipe.execute()
    except redis.RedisError:
        logger.warning("login_group.join_failed")


def login_group_end(request: HttpRequest) -> int:
    """Delete every session of this request's login group (other hosts included). Returns how many."""
    group = request.session.get(_GROUP_SESSION_KEY)
    if not group:
        return 0
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    group_key = key("login_group", group)
    try:
        session_keys = [k.decode() if isinstance(k, bytes) else str(k) for k in get_redis().smembers(group_key)]
        get_redis().delete(group_key)
    except redis.RedisError:
        logger.warning("login_group.end_failed")
        return 0
    for session_key in session_keys:
        if session_key != request.session.session_key:
            store_class(session_key=session_key).delete()
    return len(session_keys)

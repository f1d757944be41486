"""A small Redis rate limiter for endpoints allauth does not cover (invitations, subdomain checks, accept links).

Fixed windows: one ``INCR`` (plus ``EXPIRE`` on the first hit) per check, so a check costs one round trip. A
window boundary can let through up to twice the limit in a short burst, which is fine for abuse limits (they
stop floods and guessing, they do not meter). Identifiers are hashed before they go into a key, so emails and
addresses never sit in Redis in clear. When Redis is unreachable the limiter fails open and logs it: an outage
of the limiter must not take signup and invitations down with it.

Limits are ``"<count>/<seconds>"`` strings, e.g. ``"20/3600"``; see ``APP_RATE_LIMITS`` in settings and
docs/adr/0013-abuse-limits.md.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.http import HttpRequest

from shared_apps.core.exceptions import RateLimitedError
from shared_apps.core.redis import get_redis, key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        count, _, seconds = text.partition("/")
        return cls(count=int(count), seconds=int(seconds))


def _digest(ident: str) -> str:
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class RateLimitStatus:
    """One check's outcome, for answers that tell the client where it stands (``rate_limit_headers``).

    ``limit`` requests per window, ``remaining`` of them after this one, ``reset`` seconds until the window ends
    (when a refused client may try again)."""

    allowed: bool
    limit: int
    remaining: int
    reset: int


def rate_limit_check(*, scope: str, ident: str, limit: str | Limit | None = None) -> RateLimitStatus:
    """Count one hit for ``ident`` in ``scope`` and say where it stands. ``limit`` defaults to
    ``APP_RATE_LIMITS[scope]``. Allowed (with a full allowance) when the limits are off or Redis is down."""
    limit = limit or settings.APP_RATE_LIMITS[scope]
    rule = limit if isinstance(limit, Limit) else Limit.parse(limit)
    now = time.time()
    window = int(now // rule.seconds)
    reset = max(1, int((window + 1) * rule.seconds - now + 0.999))
    if not settings.APP_RATE_LIMITS_ENABLED:
        return RateLimitStatus(allowed=True, limit=rule.count, remaining=rule.count, reset=reset)
    name = key("rl", scope, _digest(ident), window)
    try:
        pipe = get_redis().pipeline()
        pipe.incr(name)
        pipe.expire(name, rule.seconds, nx=True)
        count = int(pipe.execute()[0])
    except redis.RedisError:
        logger.warning("ratelimit.unavailable", extra={"scope": scope})
        return RateLimitStatus(allowed=True, limit=rule.count, remaining=rule.count, reset=reset)
    if count > rule.count and count == rule.count + 1:  # log once per window, not on every refused request
        logger.warning("ratelimit.exceeded", extra={"scope": scope, "limit": f"{rule.count}/{rule.seconds}"})
    return RateLimitStatus(
        allowed=count <= rule.count, limit=rule.count, remaining=max(rule.count - count, 0), reset=reset
    )


def rate_limit_hit(*, scope: str, ident: str, limit: str | Limit | None = None) -> bool:
    """Count one hit for ``ident`` in ``scope``; True while within ``limit``, False once it is exceeded.

    ``limit`` defaults to ``APP_RATE_LIMITS[scope]``.
    """
    return rate_limit_check(scope=scope, ident=ident, limit=limit).allowed


def rate_limit_enforce(*, scope: str, ident: str, limit: str | Limit | None = None) -> RateLimitStatus:
    """Like ``rate_limit_check`` but raises ``RateLimitedError`` (429, ``extra["retry_after"]`` in seconds) when
    refused. ``limit`` defaults to the configured one."""
    status = rate_limit_check(scope=scope, ident=ident, limit=limit)
    if not status.allowed:
        raise RateLimitedError(
            code="request.rate_limited",
            message="Too many attempts. Please wait a few minutes and try again.",
            extra={"retry_after": status.reset},
        )
    return status


def rate_limit_headers(status: RateLimitStatus) -> dict[str, str]:
    """``X-RateLimit-Limit/Remaining/Reset`` for an answer, and ``Retry-After`` when the request was refused."""
    headers = {
        "X-RateLimit-Limit": str(status.limit),
        "X-RateLimit-Remaining": str(status.remaining),
        "X-RateLimit-Reset": str(status.reset),
    }
    if not status.allowed:
        headers["Retry-After"] = str(status.reset)
    return headers


def client_ip(request: HttpRequest) -> str:
    """The address the limiter counts by. Behind a proxy, set it up to put the client into REMOTE_ADDR."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")

"""Rate limits of the widget chat API with the headers clients read (``X-RateLimit-Limit``, ``-Remaining``,
``-Reset``, and ``Retry-After`` when refused), as Open Chat Studio's ``chat_api`` throttle (real-clients §1.5).

A fixed window per client address and scope, one Redis round trip (INCR + EXPIRE NX in a pipeline). Keys carry
the team's schema and a hash of the address. Redis down: the request passes (the limiter must not take chat
down), without headers.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.http import HttpRequest

from shared_apps.core.ratelimit import Limit, client_ip
from shared_apps.core.redis import get_redis, team_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Throttle:
    allowed: bool
    limit: int = 0
    remaining: int = 0
    reset: int = 0  # Unix time the window ends
    retry_after: int = 0

    def headers(self) -> dict[str, str]:
        if not self.limit:
            return {}
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def throttle_hit(*, request: HttpRequest, scope: str, limit: str) -> Throttle:
    if not settings.APP_RATE_LIMITS_ENABLED:
        return Throttle(allowed=True)
    rule = Limit.parse(limit)
    now = time.time()
    window = int(now // rule.seconds)
    reset = (window + 1) * rule.seconds
    ident = hashlib.sha256(client_ip(request).encode()).hexdigest()[:24]
    name = team_key("chat-rl", scope, ident, window)
    try:
        pipe = get_redis().pipeline()
        pipe.incr(name)
        pipe.expire(name, rule.seconds, nx=True)
        count = int(pipe.execute()[0])
    except redis.RedisError:
        logger.warning("ratelimit.unavailable", extra={"scope": scope})
        return Throttle(allowed=True)
    return Throttle(
        allowed=count <= rule.count,
        limit=rule.count,
        remaining=max(rule.count - count, 0),
        reset=reset,
        retry_after=max(int(reset - now), 1),
    )

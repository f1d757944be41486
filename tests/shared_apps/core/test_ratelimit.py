import logging

import pytest

from shared_apps.core.exceptions import RateLimitedError
from shared_apps.core.ratelimit import Limit, rate_limit_enforce, rate_limit_hit
from shared_apps.core.redis import get_redis


def test_rate_limit_hit_allows_the_limit_then_refuses(rate_limits_on, caplog):
    with caplog.at_level(logging.WARNING):
        results = [rate_limit_hit(scope="test.scope", ident="1.2.3.4", limit="3/60") for _ in range(5)]

    assert results == [True, True, True, False, False]
    assert [r.getMessage() for r in caplog.records].count("ratelimit.exceeded") == 1


def test_rate_limit_counts_each_identifier_separately(rate_limits_on):
    for _ in range(2):
        rate_limit_hit(scope="test.scope", ident="a", limit="2/60")

    assert rate_limit_hit(scope="test.scope", ident="b", limit="2/60")
    assert not rate_limit_hit(scope="test.scope", ident="a", limit="2/60")


def test_rate_limit_keys_expire_and_hide_the_identifier(rate_limits_on, settings):
    rate_limit_hit(scope="test.scope", ident="person@example.com", limit="2/60")

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = [k.decode() for k in get_redis().scan_iter(match=f"{prefix}:rl:test.scope:*")]
    assert len(keys) == 1
    assert "person@example.com" not in keys[0]
    assert 0 < get_redis().ttl(keys[0]) <= 60


def test_rate_limit_switched_off_always_allows(db, settings):
    settings.APP_RATE_LIMITS_ENABLED = False

    assert all(rate_limit_hit(scope="test.scope", ident="x", limit="1/60") for _ in range(3))


def test_rate_limit_enforce_raises_a_429_error_with_configured_limit(rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "test.scope": "1/60"}
    rate_limit_enforce(scope="test.scope", ident="x")

    with pytest.raises(RateLimitedError) as excinfo:
        rate_limit_enforce(scope="test.scope", ident="x")

    assert excinfo.value.status_code == 429
    assert excinfo.value.code == "request.rate_limited"


def test_limit_parses_count_and_seconds():
    assert Limit.parse("20/3600") == Limit(count=20, seconds=3600)


def test_rate_limit_check_reports_limit_remaining_and_reset(rate_limits_on):
    from shared_apps.core.ratelimit import rate_limit_check, rate_limit_headers

    statuses = [rate_limit_check(scope="test.scope", ident="widget", limit="2/60") for _ in range(3)]

    assert [(s.allowed, s.limit, s.remaining) for s in statuses] == [(True, 2, 1), (True, 2, 0), (False, 2, 0)]
    assert all(0 < s.reset <= 60 for s in statuses)
    assert "Retry-After" not in rate_limit_headers(statuses[0])
    headers = rate_limit_headers(statuses[2])
    assert headers["X-RateLimit-Limit"] == "2"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["Retry-After"] == headers["X-RateLimit-Reset"] == str(statuses[2].reset)


def test_rate_limit_enforce_says_when_to_retry(rate_limits_on):
    rate_limit_enforce(scope="test.scope", ident="y", limit="1/60")

    with pytest.raises(RateLimitedError) as refused:
        rate_limit_enforce(scope="test.scope", ident="y", limit="1/60")

    assert 0 < refused.value.extra["retry_after"] <= 60

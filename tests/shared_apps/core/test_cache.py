"""The cache backend reuses one Redis client per connection pool and still works as Django's cache."""

from django.core.cache import caches


def test_cache_round_trip_reuses_one_client():
    cache = caches["sessions"]
    cache.set("reuse-check", {"a": 1}, 30)

    assert cache.get("reuse-check") == {"a": 1}
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    cache.delete("reuse-check")
    assert cache.get("reuse-check") is None

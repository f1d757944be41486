"""kombu's Redis transport with one Redis client per channel (settings: ``CELERY_BROKER_TRANSPORT``).

kombu builds a new ``redis.Redis`` object — with its table of ~200 response callbacks — for every publish, every
ack and every delivery's bookkeeping; that was ~15 % of the worker's main process and ~2 % of a chat request
(ADR 0040). A Redis client is thread-safe and only borrows connections from the channel's pool, so one per
channel and pool serves them all. Everything else is kombu's own transport.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        shared = self._shared_client
        if shared is None or shared.connection_pool is not self.pool:  # a new pool (reconnect) gets a new client
            shared = self._shared_client = self._create_client()
        yield shared


class Transport(kombu_redis.Transport):
    Channel = Channel

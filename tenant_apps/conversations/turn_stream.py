"""The worker's side of the turn stream (ADR 0090 §4): publish one turn's tokens, status, reset and done to Redis.

Keys and events are named by ``conversations.streams`` (the protocol the stream server reads). The publisher is the
engine's ``ReplyStream`` port: the LLM node that produces the final reply writes its tokens here as they arrive.

* The first chunk goes out at once (time to first token); later ones are coalesced for ``COALESCE_SECONDS`` (one
  Redis round trip per flush, not per token). A flush is one pipeline: ``APPEND`` the text key, ``PUBLISH`` the
  token event, read the cancel key. A set cancel key raises ``ReplyCancelled`` (the node ends the model call).
* ``done`` is published after the reply is committed, with the stored text in the done key: it always replaces what
  was streamed (a later node, an error or the apology may differ from the tokens).
* Redis trouble never fails a turn: the publisher logs once and goes quiet; the reply is stored and delivered as
  without streaming (clients fall back to the whole reply).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import redis

from shared_apps.core.redis import get_redis
from tenant_apps.conversations import streams
from tenant_apps.pipelines.engine.context import ReplyCancelled

logger = logging.getLogger(__name__)

COALESCE_SECONDS = 0.08  # tokens that arrive within this of the last flush wait for the next one (50-100 ms)
TTL = streams.STREAM_TTL_SECONDS


class TurnPublisher:
    """One turn's stream. Not thread-safe: one turn (greenlet) uses it."""

    def __init__(self, *, schema: str, message_id: int, client: redis.Redis | None = None) -> None:
        self.schema = schema
        self.message_id = message_id
        self.channel = streams.channel(schema, message_id)
        self.text_key = streams.text_key(schema, message_id)
        self.done_key = streams.done_key(schema, message_id)
        self.cancel_key = streams.cancel_key(schema, message_id)
        self._redis = client
        self._buffer: list[str] = []
        self._offset = 0  # characters published so far
        self._last_flush: float | None = None
        self._broken = False
        self.cancelled = False

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            self._redis = get_redis()
        return self._redis

    # -- the engine's ReplyStream port -----------------------------------------------------------------------------

    def write(self, text: str) -> None:
        self._buffer.append(text)
        now = time.monotonic()
        if self._last_flush is None or now - self._last_flush >= COALESCE_SECONDS:
            self.flush()

    def flush(self) -> None:
        if not self._buffer or self._broken:
            self._buffer.clear()
            return
        chunk = "".join(self._buffer)
        self._buffer.clear()
        first = self._last_flush is None
        self._last_flush = time.monotonic()
        pipe = self.redis.pipeline(transaction=False)
        pipe.append(self.text_key, chunk.encode())
        if first:
            pipe.expire(self.text_key, TTL)
        pipe.publish(self.channel, streams.token_event(self._offset, chunk))
        pipe.exists(self.cancel_key)
        results = self._run(pipe)
        self._offset += len(chunk)
        if results is not None and results[-1]:
            self.cancelled = True
            raise ReplyCancelled(f"turn {self.message_id} cancelled")

    # -- the turn's events -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """The turn is running: drop text a previous, lost run of it streamed (then tell clients to reset), and
        say so. One round trip (two when an earlier run had streamed)."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self.text_key)
        pipe.publish(self.channel, streams.status_event("running"))
        results = self._run(pipe)
        if results is not None and results[0]:
            self._publish(streams.reset_event())

    def status(self, status: Literal["queued", "running", "waiting"], detail: str = "") -> None:
        self._publish(streams.status_event(status, detail))

    def waiting(self, code: str, seconds: float) -> None:
        """The LLM layer waits before retrying a rate-limited or failing provider (``on_wait`` hook)."""
        detail = "The model provider is rate limiting us" if code == "llm.rate_limited" else "The model is busy"
        self.status("waiting", f"{detail}; trying again in {seconds:.0f} s.")

    def reset(self) -> None:
        """The turn will run again: what was streamed is void. The key goes first, then the event."""
        self._buffer.clear()
        self._offset = 0
        self._last_flush = None
        if self._broken:
            return
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(self.text_key)
        pipe.publish(self.channel, streams.reset_event())
        self._run(pipe)

    def done(self, *, reply_id: int, ok: bool, text: str) -> None:
        """After the reply is committed: the stored text in the done key, then the ``done`` event."""
        self._broken = False  # the final word is always worth one more try
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self.done_key, streams.done_value(reply_id, ok=ok, text=text), ex=TTL)
        pipe.expire(self.text_key, TTL)
        pipe.publish(self.channel, streams.done_event(reply_id, ok=ok))
        self._run(pipe)

    # -- plumbing --------------------------------------------------------------------------------------------------

    def _publish(self, event: bytes) -> None:
        if self._broken:
            return
        try:
            self.redis.publish(self.channel, event)
        except redis.RedisError as exc:
            self._give_up(exc)

    def _run(self, pipe: Any) -> list[Any] | None:
        if self._broken:
            return None
        try:
            return pipe.execute()
        except redis.RedisError as exc:
            self._give_up(exc)
            return None

    def _give_up(self, exc: Exception) -> None:
        self._broken = True
        logger.warning(
            "turn.stream_failed: %s", type(exc).__name__, extra={"message_id": self.message_id, "schema": self.schema}
        )

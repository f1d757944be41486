"""The turn's record of its outside effects, so each runs at most once per turn however often the turn runs (ADR 0066).

A turn can run more than once: the task retries a passing provider failure, a redelivery or the lease sweep runs it
again after its worker died, a time limit or a crash cut it short. Its email and HTTP nodes must not repeat: each
records ``started`` in Redis (``SET NX``) before the effect and ``done`` with its result after. A later run of the
same turn finds the record: an email is not sent again, an HTTP node gets the recorded response (or fails, when the
first run died before learning it). The record lives a day, far longer than any turn is retried.

Only turns whose pipeline has such a node pay for it (two Redis commands per effect); a plain LLM turn pays nothing.
When Redis is unreachable the effect runs (the turn still answers) and the failure is logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import redis

from shared_apps.core import strict_json
from shared_apps.core.redis import get_redis, key

logger = logging.getLogger(__name__)

EFFECT_RECORD_SECONDS = 24 * 3600
MAX_RECORD_CHARS = 4_000_000  # an HTTP node's response is capped at 1 MB of bytes already


class TurnEffectLog:
    """``EffectLog`` (pipelines.engine.context) of one turn: keys carry the schema and the message id."""

    def __init__(self, *, schema: str, message_id: int) -> None:
        self._prefix = key("turn-effects", schema, message_id)

    def begin(self, key: str) -> Mapping[str, Any] | None:
        name = f"{self._prefix}:{key}"
        try:
            client = get_redis()
            if client.set(name, '{"state":"started"}', nx=True, ex=EFFECT_RECORD_SECONDS):
                return None
            raw = client.get(name)
        except redis.RedisError:
            logger.warning("turn.effect_log_unavailable", extra={"effect": key})
            return None
        if raw is None:  # expired between the two commands: a day-old turn, run it as new
            return None
        try:
            record: dict[str, Any] = strict_json.loads(raw)
        except strict_json.StrictJsonError:
            return {"state": "started"}
        return record

    def finish(self, key: str, result: Mapping[str, Any]) -> None:
        record = json.dumps({"state": "done", "result": dict(result)}, allow_nan=False, ensure_ascii=False)
        if len(record) > MAX_RECORD_CHARS:
            record = '{"state":"started"}'  # too big to replay: a repeat fails rather than re-sends
        try:
            get_redis().set(f"{self._prefix}:{key}", record, ex=EFFECT_RECORD_SECONDS)
        except redis.RedisError:
            logger.warning("turn.effect_log_unavailable", extra={"effect": key})

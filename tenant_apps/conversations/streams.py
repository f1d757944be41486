"""The turn stream protocol (ADR 0090 §4-6): how a turn's tokens travel from the worker to whoever watches it.

One turn (keyed by the inbound message's id, in the team's key namespace) has:

* ``text_key`` — the reply text streamed so far (``APPEND``), so a client that connects late or reconnects gets
  everything from the offset it already has;
* ``channel`` — JSON events published after each ``APPEND`` (``token``, ``status``, ``reset``, ``done``);
* ``done_key`` — ``{"id", "ok", "text"}`` once the reply is committed: the final text always replaces the tokens;
* ``cancel_key`` — set when the user stops the generation or leaves; the publisher reads it at each flush.

A stream is opened with a signed token naming the schema, the message and the host it was issued for, so the stream
server needs no database and a token used on another team's host is refused. This module only names and encodes:
the worker's publisher and the stream server build on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings
from django.core import signing

from shared_apps.core.redis import key

STREAM_TTL_SECONDS = 600  # text, done and cancel keys outlive the turn by this much
TOKEN_MAX_AGE_SECONDS = 3600  # a stream link works this long after the send that issued it
_SALT = "chat.stream"

EventType = Literal["token", "status", "reset", "done"]


def _base(schema: str, message_id: int) -> str:
    return key("team", schema, "turn", message_id)


def channel(schema: str, message_id: int) -> str:
    return _base(schema, message_id)


def text_key(schema: str, message_id: int) -> str:
    return _base(schema, message_id) + ":text"


def done_key(schema: str, message_id: int) -> str:
    return _base(schema, message_id) + ":done"


def cancel_key(schema: str, message_id: int) -> str:
    return _base(schema, message_id) + ":cancel"


# ------------------------------------------------------------------------------------------------------- events


def token_event(offset: int, text: str) -> bytes:
    """``text`` starts at character ``offset`` of the streamed reply."""
    return _encode({"t": "token", "o": offset, "d": text})


def status_event(status: Literal["queued", "running", "waiting"], detail: str = "") -> bytes:
    return _encode({"t": "status", "s": status, "detail": detail})


def reset_event() -> bytes:
    """The text streamed so far is void (the turn will run again); the text key is deleted before this is sent."""
    return _encode({"t": "reset"})


def done_event(reply_id: int, *, ok: bool) -> bytes:
    return _encode({"t": "done", "id": reply_id, "ok": ok})


def done_value(reply_id: int, *, ok: bool, text: str) -> bytes:
    return _encode({"id": reply_id, "ok": ok, "text": text})


def decode(raw: bytes | str) -> dict[str, Any]:
    """An event or done value; raises ``ValueError`` for anything that is not a JSON object."""
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("stream payloads are JSON objects")
    return value


def _encode(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# ------------------------------------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class StreamGrant:
    """What a stream token allows: watching one turn, from one host."""

    schema: str
    message_id: int
    host: str


def hostname(host: str) -> str:
    """``host`` without its port (``demo.localhost:8000`` → ``demo.localhost``): the stream server runs on another
    port in development, so grants name the host only."""
    if host.startswith("["):  # [::1]:8000
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0].lower()


def grant_sign(grant: StreamGrant) -> str:
    data = {"s": grant.schema, "m": grant.message_id, "h": hostname(grant.host)}
    return signing.dumps(data, salt=_SALT, compress=False)


def stream_url(*, scheme: str, host: str, schema: str, message_id: int) -> str:
    """Where a client streams the turn of ``message_id`` (ADR 0095): a signed token for the team host ``host`` (as
    the request named it), on the stream server: ``host`` at ``CHAT_STREAM_PORT`` when set (development), else the
    same origin (production routes ``/stream/`` to it). Absolute, so a widget on another site can use it."""
    token = grant_sign(StreamGrant(schema=schema, message_id=message_id, host=host))
    path = f"/stream/turn/{token}/"
    if settings.CHAT_STREAM_PORT:
        return f"{scheme}://{hostname(host)}:{settings.CHAT_STREAM_PORT}{path}"
    return f"{scheme}://{host}{path}"


def grant_read(token: str, *, host: str, max_age: int = TOKEN_MAX_AGE_SECONDS) -> StreamGrant | None:
    """The grant in ``token`` when it is genuine, not older than ``max_age`` and issued for ``host``; else None."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("h", "") != hostname(host):
        return None
    schema, message_id = data.get("s"), data.get("m")
    if not isinstance(schema, str) or not isinstance(message_id, int):
        return None
    return StreamGrant(schema=schema, message_id=message_id, host=hostname(host))

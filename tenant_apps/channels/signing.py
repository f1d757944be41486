"""The custom API channel's signature (both ways, ADR 0101): ``X-Signature: sha256=<hex>`` where hex is
HMAC-SHA256 with the channel's signing secret over ``<timestamp>.<raw body>``, and ``X-Signature-Timestamp`` is
the Unix time in seconds. A request older or newer than the replay window is refused; digests are compared in
constant time."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Signature-Timestamp"


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signed_headers(secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature_for(secret, timestamp, body)}


def signature_problem(
    secret: str, *, timestamp: str | None, signature: str | None, body: bytes, window: int, now: float | None = None
) -> str | None:
    """None when the signature is good and fresh; otherwise the error code (``channel.unsigned``,
    ``channel.stale_signature``, ``channel.bad_signature``)."""
    if not timestamp or not signature:
        return "channel.unsigned"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return "channel.bad_signature"
    if abs((now if now is not None else time.time()) - int(timestamp)) > window:
        return "channel.stale_signature"
    expected = signature_for(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        return "channel.bad_signature"
    return None

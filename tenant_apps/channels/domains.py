"""Allowed domains of a widget channel: ``*``, an exact hostname, or ``*.example.com`` (any subdomain, not the
apex), matched against the hostname of the caller's Origin (or Referer), port ignored (real-clients §1.5)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_DOMAINS = 50
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$")


def domain_normalise(text: str) -> str | None:
    """The canonical form of one allowed-domain entry, or None when it is not one. A pasted URL is reduced to
    its hostname (``https://example.com/page`` -> ``example.com``)."""
    value = text.strip().lower().rstrip(".")
    if value == "*":
        return value
    if "://" in value:
        value = (urlsplit(value).hostname or "").rstrip(".")
    if len(value) > 253 or not _HOSTNAME.match(value):
        return None
    return value


def hostname_of(origin: str | None) -> str | None:
    """The hostname of an Origin or Referer header value (None when there is none, or it is ``null``)."""
    if not origin or origin == "null":
        return None
    try:
        host = urlsplit(origin).hostname
    except ValueError:
        return None
    return host.rstrip(".").lower() if host else None


def domain_allowed(host: str | None, allowed: list[str]) -> bool:
    if host is None:
        return False
    for entry in allowed:
        if entry == "*" or entry == host:
            return True
        if entry.startswith("*.") and host.endswith(entry[1:]) and host != entry[2:]:
            return True
    return False

"""Who may use a widget session (real-clients §1.5): the embed key and the caller's Origin/Referer hostname against
the channel's allowed domains, and at SESSION_TOKEN level a signed session token with an absolute lifetime.

Every refusal is an ``AccessRefusedError`` with the HTTP status and the ``code`` newer widgets read; the views turn it
into ``{"error", "code", ...}``. Embed keys are compared in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.http import HttpRequest

from tenant_apps.channels.domains import domain_allowed, hostname_of
from tenant_apps.channels.enums import WidgetAuthLevel
from tenant_apps.channels.models import Channel

TOKEN_SALT = "chat.session-token"  # noqa: S105 (a signing salt, not a secret)
EMBED_KEY_HEADER = "HTTP_X_EMBED_KEY"
SESSION_TOKEN_HEADER = "HTTP_X_SESSION_TOKEN"  # noqa: S105 (a header name)


@dataclass
class AccessRefusedError(Exception):
    status: int
    code: str
    message: str


def embed_key_of(request: HttpRequest) -> str:
    return str(request.META.get(EMBED_KEY_HEADER, "")).strip()[:128]


def origin_host(request: HttpRequest) -> str | None:
    return hostname_of(request.META.get("HTTP_ORIGIN")) or hostname_of(request.META.get("HTTP_REFERER"))


def key_matches(channel: Channel, key: str) -> bool:
    return bool(key and channel.embed_key) and hmac.compare_digest(key.encode(), str(channel.embed_key).encode())


def origin_check(request: HttpRequest, channel: Channel, *, required: bool) -> None:
    """The caller's site must be one of the channel's allowed domains. ``required``: a request with neither
    Origin nor Referer is refused (key-authenticated calls); otherwise it is checked only when present."""
    host = origin_host(request)
    if host is None and not required:
        return
    if host is not None and host == request.get_host().partition(":")[0].lower():
        return  # the channel page's live preview, on the team's own host
    if not domain_allowed(host, channel.allowed_domains):
        raise AccessRefusedError(403, "origin_not_allowed", "This site is not allowed to use this chat widget.")


def enabled_check(channel: Channel) -> None:
    if not channel.enabled:
        raise AccessRefusedError(403, "channel_disabled", channel.disabled_message or "This chat is not available.")


def start_check(request: HttpRequest, channel: Channel, key: str) -> None:
    """``/start/``: a key, when given, must be the channel's; the origin must be allowed (required with a key)."""
    if key and not key_matches(channel, key):
        raise AccessRefusedError(403, "embed_key_invalid", "Invalid widget embed key")
    origin_check(request, channel, required=bool(key))
    enabled_check(channel)


def session_check(request: HttpRequest, channel: Channel, session_external_id: str) -> None:
    """A session call (message, polls, upload) at the channel's auth level."""
    level = channel.auth_level
    key = embed_key_of(request)
    if level == WidgetAuthLevel.SESSION_TOKEN:
        token_check(request, session_external_id)
        origin_check(request, channel, required=False)
    elif level == WidgetAuthLevel.EMBED_KEY:
        if not key_matches(channel, key):
            raise AccessRefusedError(403, "embed_key_invalid", "Invalid widget embed key")
        origin_check(request, channel, required=True)
    else:
        if key and not key_matches(channel, key):
            raise AccessRefusedError(403, "embed_key_invalid", "Invalid widget embed key")
        origin_check(request, channel, required=False)
    enabled_check(channel)


def token_issue(session_external_id: str) -> str:
    return signing.dumps({"sid": session_external_id}, salt=TOKEN_SALT, compress=False)


def token_check(request: HttpRequest, session_external_id: str) -> None:
    token = str(request.META.get(SESSION_TOKEN_HEADER, "")).strip()
    if not token:
        raise AccessRefusedError(403, "session_token_required", "A session token is required for this chat.")
    try:
        data = signing.loads(token[:1024], salt=TOKEN_SALT, max_age=settings.CHAT_SESSION_TOKEN_LIFETIME)
    except signing.SignatureExpired:
        raise AccessRefusedError(403, "session_expired", "This chat session has expired. Start a new one.") from None
    except signing.BadSignature:
        raise AccessRefusedError(403, "session_token_invalid", "The session token is not valid.") from None
    if not isinstance(data, dict) or data.get("sid") != session_external_id:
        raise AccessRefusedError(403, "session_token_invalid", "The session token is not valid.")

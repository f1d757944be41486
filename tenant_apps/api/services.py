"""Create, use and revoke team API keys (in the active team's schema: no team filter anywhere)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from tenant_apps.api.exceptions import ApiKeyError
from tenant_apps.api.models import ApiKey
from tenant_apps.audit.services import audit_record

logger = logging.getLogger(__name__)

KEY_PREFIX_LEAD = "cs_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per key


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(raw: str) -> tuple[str, str] | None:
    """``"<prefix>.<secret>"`` -> (prefix, secret), or None when it does not look like one of our keys."""
    prefix, dot, secret = (raw or "").strip().partition(".")
    if not dot or not prefix.startswith(KEY_PREFIX_LEAD) or len(prefix) > 16 or not 20 <= len(secret) <= 100:
        return None
    return prefix, secret


@transaction.atomic
def api_key_create(*, name: str, read_only: bool, created_by: Any | None) -> tuple[ApiKey, str]:
    """Make a key; returns it with the full ``prefix.secret`` string, which is never stored or shown again."""
    name = " ".join((name or "").split())
    if not name:
        raise ApiKeyError(code="api_key.name_required", message="Give the key a name.")
    if len(name) > 100:
        raise ApiKeyError(code="api_key.name_too_long", message="Use at most 100 characters.")
    secret = secrets.token_urlsafe(32)
    while True:
        prefix = KEY_PREFIX_LEAD + secrets.token_hex(5)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    key = ApiKey.objects.create(
        name=name, prefix=prefix, secret_hash=secret_hash(secret), read_only=read_only, created_by=created_by
    )
    audit_record(
        actor=created_by, action="api_key.created", target=key, data={"prefix": prefix, "read_only": read_only}
    )
    logger.info("api_key.created", extra={"prefix": prefix})
    return key, f"{prefix}.{secret}"


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Any | None) -> ApiKey:
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit_record(actor=actor, action="api_key.revoked", target=key, data={"prefix": key.prefix})
    logger.info("api_key.revoked", extra={"prefix": key.prefix})
    return key


def api_key_authenticate(*, raw: str) -> ApiKey | None:
    """The active key matching ``raw`` in this team's schema, or None. One query; the compare is constant-time.

    ``last_used_at`` is refreshed only when it is older than ``LAST_USED_RESOLUTION``, so a busy key costs one
    UPDATE a minute rather than one per request.
    """
    parts = split_key(raw)
    if parts is None:
        return None
    prefix, secret = parts
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.secret_hash, secret_hash(secret)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key

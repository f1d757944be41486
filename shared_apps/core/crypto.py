"""Encryption at rest for credentials: Fernet with several keys (MultiFernet), newest first (ADR 0021).

``settings.FERNET_KEYS`` lists the keys; the first encrypts, all decrypt, so a new key can be put in front and
``manage.py rotate_credentials`` re-encrypts every stored value with it before the old key is removed.
Production refuses to start without keys; development and tests derive one from ``SECRET_KEY`` when none is set.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from shared_apps.core.exceptions import ApplicationError


class UndecryptableError(ApplicationError):
    """code "crypto.undecryptable": no configured key opens the value (a key was removed too early)."""

    status_code = 500


def derived_key(secret: str) -> str:
    """A Fernet key derived from ``secret`` (dev/test only: production sets FERNET_KEYS)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"chatstudio", info=b"fernet-credentials").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(raw).decode()


def active_keys() -> tuple[str, ...]:
    keys = tuple(key for key in settings.FERNET_KEYS if key)
    return keys or (derived_key(settings.SECRET_KEY),)


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(active_keys())


def encrypt(plain: bytes) -> str:
    return fernet().encrypt(plain).decode()


def decrypt(token: str) -> bytes:
    try:
        return fernet().decrypt(token.encode())
    except InvalidToken as exc:
        raise UndecryptableError(
            code="crypto.undecryptable", message="Stored credentials could not be decrypted with the current keys."
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt ``token`` with the newest key (decrypting with whichever key made it)."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise UndecryptableError(
            code="crypto.undecryptable", message="Stored credentials could not be decrypted with the current keys."
        ) from exc

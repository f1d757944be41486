"""``EncryptedJSONField``: a JSON object of secrets, stored as one Fernet token (ADR 0021).

Reading a row never decrypts: the attribute holds a ``Secrets`` box that prints as dots, so templates, logs,
tracebacks, Sentry frames and ``repr()`` cannot show the values by accident. Code that needs a value calls
``reveal()`` on purpose. Saving an unchanged box writes the stored token back untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.query_utils import DeferredAttribute

from shared_apps.core import crypto

MASK = "••••••••"


class Secrets:
    """A sealed mapping of secret values (str -> str)."""

    __slots__ = ("_plain", "_token")

    def __init__(self, plain: Mapping[str, str] | None = None, *, token: str | None = None) -> None:
        self._plain: dict[str, str] | None = dict(plain) if plain is not None else None
        self._token = token
        if self._plain is None and self._token is None:
            self._plain = {}

    @classmethod
    def sealed(cls, token: str) -> Secrets:
        return cls(token=token)

    def reveal(self) -> dict[str, str]:
        """The plain values. Call only where a value is sent to its service; never render or log the result."""
        if self._plain is None:
            assert self._token is not None
            self._plain = json.loads(crypto.decrypt(self._token))
        return dict(self._plain)

    def token(self) -> str:
        if self._token is None:
            self._token = crypto.encrypt(json.dumps(self._plain or {}, sort_keys=True).encode())
        return self._token

    def __repr__(self) -> str:
        return f"Secrets({MASK})"

    __str__ = __repr__

    def __html__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secrets):
            return NotImplemented
        return self.reveal() == other.reveal()

    __hash__ = None  # type: ignore[assignment]


class SecretsAttribute(DeferredAttribute):
    """Boxes whatever is assigned (a dict included) at once, so a plain dict never sits on an instance."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = self.field.to_python(value)


class EncryptedJSONField(models.Field):  # type: ignore[type-arg]
    """Stores ``Secrets`` (or a plain dict, sealed on save) as a Fernet token in a text column."""

    description = "Encrypted JSON object"
    descriptor_class = SecretsAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", dict)
        super().__init__(*args, **kwargs)

    def get_internal_type(self) -> str:
        return "TextField"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secrets | None:
        return None if value is None else Secrets.sealed(value)

    def to_python(self, value: Any) -> Secrets | None:
        if value is None or isinstance(value, Secrets):
            return value
        if isinstance(value, Mapping):
            return Secrets(value)
        if isinstance(value, str):
            return Secrets.sealed(value)
        raise TypeError(f"EncryptedJSONField takes a mapping or Secrets, not {type(value).__name__}")

    def get_prep_value(self, value: Any) -> str | None:
        secrets = self.to_python(value)
        return None if secrets is None else secrets.token()

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return "" if value is None else self.get_prep_value(value) or ""

    def get_default(self) -> Secrets:
        return Secrets(super().get_default() or {})


def user_reference(*, blank: bool = True) -> models.ForeignKey[Any, Any]:
    """A reference from a team table to a global user (ADR 0015).

    Users live in public and a delete there cannot see, let alone cascade into, every team schema: so no database
    constraint and no cascade. Keep a label next to it when the name must outlive the user.
    """
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=blank,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

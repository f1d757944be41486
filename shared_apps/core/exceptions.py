"""One error type for expected failures. ``code`` strings are a stable API contract: never reword them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar


class ApplicationError(Exception):
    """An expected failure the user can act on (bad input, wrong state, missing object)."""

    status_code: ClassVar[int] = 400

    def __init__(self, *, code: str, message: str, extra: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = dict(extra or {})

    def as_dict(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "extra": self.extra}


class NotFoundError(ApplicationError):
    status_code = 404


class PermissionDeniedError(ApplicationError):
    status_code = 403


class InvalidStateError(ApplicationError):
    status_code = 409


class RateLimitedError(ApplicationError):
    status_code = 429


class RetryableProviderError(ApplicationError):
    """A dependency failed in a way that may succeed later (429, 5xx, timeout): the only error tasks retry on."""

    status_code = 503

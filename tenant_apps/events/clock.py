"""The scheduler's clock, injectable: every function that decides what is due takes ``now`` and defaults to this,
so tests move time by passing it (or by ``frozen``) instead of sleeping."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone

_fixed: datetime | None = None


def now() -> datetime:
    return _fixed if _fixed is not None else timezone.now()


@contextlib.contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Tests: the clock reads ``at`` inside the block (this process only)."""
    global _fixed
    previous, _fixed = _fixed, at
    try:
        yield
    finally:
        _fixed = previous

"""Reads of accounts."""

from __future__ import annotations

from shared_apps.accounts.models import User


def active_user_get(*, user_id: int) -> User | None:
    """The user ``user_id`` if the account is active (a deactivated account cannot be logged in anywhere)."""
    return User.objects.filter(pk=user_id, is_active=True).first()

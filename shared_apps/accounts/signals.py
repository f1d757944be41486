"""Auth plumbing only: tie every session of one login together so logout can end them all (see handoff.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from shared_apps.accounts import handoff


@receiver(user_logged_in, dispatch_uid="accounts.login_group_join")
def _join_login_group(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is None or not hasattr(request, "session"):
        return
    group = getattr(request, "handoff_login_group", None) or handoff.login_group_of(request)
    handoff.login_group_join(request, group)


@receiver(user_logged_out, dispatch_uid="accounts.login_group_end")
def _end_login_group(sender: Any, request: HttpRequest | None, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        handoff.login_group_end(request)

"""Staff users who passed two-factor authentication, and clients logged in as them on the apex."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.models import Authenticator

from tests.conftest import TeamClient


def mfa_enable(user: Any) -> None:
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "not-used-in-tests"})


def mfa_session(client: TeamClient, user: Any) -> None:
    """What allauth leaves in the session after the user typed a valid code."""
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY + "_user"] = str(user.pk)
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time(), "email": "x"},
        {"method": "mfa", "at": time.time(), "type": "totp"},
    ]
    session.save()


@pytest.fixture
def staff(make_user: Callable[..., Any]) -> Any:
    user = make_user(email="staff@example.com", is_staff=True)
    mfa_enable(user)
    return user


@pytest.fixture
def staff_client(staff: Any) -> TeamClient:
    client = TeamClient("localhost")
    client.force_login(staff)
    mfa_session(client, staff)
    return client

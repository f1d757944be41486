"""Conversation fixtures: an in-app session of the team owner on the working copy."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_apps.conversations import services
from tenant_apps.conversations.enums import Platform


@pytest.fixture
def member_session(chatbot: Any, owner: Any) -> Any:
    participant = services.participant_for_member(user=owner)
    return services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)

"""Chat page fixtures: the owner's client and a public, published chatbot."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_apps.chatbots.services import chatbot_update, version_create


@pytest.fixture
def owner_client(team: Any, owner: Any, client_for: Any) -> Any:
    return client_for(team, owner)


@pytest.fixture
def public_bot(chatbot: Any, owner: Any) -> Any:
    chatbot_update(chatbot=chatbot, actor=owner, is_public=True)
    version_create(chatbot=chatbot, actor=owner)
    chatbot.refresh_from_db()
    return chatbot

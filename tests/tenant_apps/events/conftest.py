"""Events fixtures: a published chatbot whose version carries the triggers a test adds, and a session on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tenant_apps.chatbots.services import version_create
from tenant_apps.conversations import services
from tenant_apps.conversations.enums import Platform


@pytest.fixture
def publish(chatbot: Any, owner: Any) -> Callable[[], Any]:
    """Freeze the chatbot's working copy (its triggers included) into a new published version."""

    def run() -> Any:
        version = version_create(chatbot=chatbot, actor=owner, publish=True)
        chatbot.refresh_from_db()
        return version

    return run


@pytest.fixture
def participant(team: Any) -> Any:
    return services.participant_get_or_create(platform=Platform.API, identifier="events-participant")


@pytest.fixture
def start(chatbot: Any, participant: Any) -> Callable[..., Any]:
    """Start a session for ``participant`` on the chatbot's published version."""

    def run(who: Any = None) -> Any:
        chatbot.refresh_from_db()
        return services.session_start(
            chatbot=chatbot,
            version=chatbot.published_version,
            participant=who or participant,
            platform=(who or participant).platform,
        )

    return run

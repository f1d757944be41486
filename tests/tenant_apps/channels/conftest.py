"""Channel fixtures: a published chatbot on the fake LLM with a widget channel and a custom API channel."""

from __future__ import annotations

from typing import Any

import pytest

from tenant_apps.channels import services
from tenant_apps.channels.enums import ChannelKind, WidgetAuthLevel


@pytest.fixture
def published(chatbot: Any, owner: Any) -> Any:
    from tenant_apps.chatbots.services import version_create

    version_create(chatbot=chatbot, actor=owner, publish=True)
    chatbot.refresh_from_db()
    return chatbot


@pytest.fixture
def widget(published: Any, owner: Any) -> Any:
    return services.channel_create(
        chatbot=published,
        kind=ChannelKind.WIDGET,
        name="Site widget",
        config={"allowed_domains": ["example.com", "*.example.org"], "auth_level": WidgetAuthLevel.EMBED_KEY},
        user=owner,
    )


@pytest.fixture
def custom_api(published: Any, owner: Any) -> Any:
    return services.channel_create(chatbot=published, kind=ChannelKind.CUSTOM_API, name="Backend", user=owner)


@pytest.fixture
def member_session(chatbot: Any, owner: Any) -> Any:
    from tenant_apps.conversations import services as conversation_services
    from tenant_apps.conversations.enums import Platform

    participant = conversation_services.participant_for_member(user=owner)
    return conversation_services.session_start(
        chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB
    )

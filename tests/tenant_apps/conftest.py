"""Fixtures for chatbot and conversation tests: a team LLM provider on the fake server and a chatbot using it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.providers import llm_provider


@pytest.fixture
def fake_provider(team: Any, fake_llm: Any, catalog: Any) -> Any:
    """Team A's first LLM provider, pointing at the loopback fake (model ``fake-model``)."""
    provider = llm_provider(base_url=fake_llm.openai_base_url, name="Fake LLM")
    provider.custom_models.create(name="fake-model")
    return provider


@pytest.fixture
def owner(team: Any, make_member: Any) -> Any:
    return make_member(team)


@pytest.fixture
def chatbot(fake_provider: Any, owner: Any) -> Any:
    """A chatbot with the default pipeline (start -> LLM -> end) on the fake provider."""
    from tenant_apps.chatbots.services import chatbot_create

    return chatbot_create(name="Helper", description="Answers questions", created_by=owner)

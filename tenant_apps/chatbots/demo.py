"""The demo team's chatbot, so ``make run`` opens on something to talk to (a ``DEMO_SETUP_HOOKS`` entry)."""

from __future__ import annotations

from typing import Any

from tenant_apps.chatbots import services
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.providers.demo import demo_llm_choice

DEMO_NAME = "Demo assistant"


def demo_chatbot(*, team: Any, user: Any, stdout: Any) -> None:
    """Create, publish and share (public link) the demo chatbot once; later runs leave it alone."""
    if Chatbot.objects.filter(name=DEMO_NAME).exists():
        return
    if demo_llm_choice() is None:
        stdout.write("No demo LLM provider: skipping the demo chatbot.")
        return
    chatbot = services.chatbot_create(
        name=DEMO_NAME, description="A friendly assistant on the demo team's model.", created_by=user
    )
    services.chatbot_update(chatbot=chatbot, actor=user, is_public=True, seed_message="Greet me in one short sentence.")
    services.version_create(chatbot=chatbot, actor=user, description="Demo", publish=True)
    stdout.write(f"Demo chatbot “{DEMO_NAME}” created and published.")

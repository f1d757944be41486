"""The demo team's chatbot, so ``make run`` opens on something to talk to (a ``DEMO_SETUP_HOOKS`` entry)."""

from __future__ import annotations

from typing import Any

from tenant_apps.chatbots import services
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.providers.demo import demo_llm_choice
from tenant_apps.providers.local_model import is_local_model

DEMO_NAME = "Demo assistant"

# For the tiny local model (SmolLM2-135M): its own training prompt keeps it in English and on topic, a length
# limit stops it rambling, and temperature 0 keeps it from drifting ("Le Cap" at 0.3). Compared side by side on
# greetings, facts and small tasks (ADR 0080). A real provider (an API key) gets the general default prompt.
LOCAL_DEMO_PROMPT = (
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face. "
    "Answer the user's question in one or two short, correct sentences in English."
)
LOCAL_DEMO_SEED = "Hi! What can you help me with?"


def demo_chatbot(*, team: Any, user: Any, stdout: Any) -> None:
    """Create, publish and share (public link) the demo chatbot once; later runs leave it alone."""
    if Chatbot.objects.filter(name=DEMO_NAME).exists():
        return
    picked = demo_llm_choice()
    if picked is None:
        stdout.write("No demo LLM provider: skipping the demo chatbot.")
        return
    provider, model = picked
    local = is_local_model(provider)
    chatbot = services.chatbot_create(
        name=DEMO_NAME,
        description="A friendly assistant on the demo team's model.",
        created_by=user,
        llm_provider_id=provider.pk,
        llm_model=model,
        prompt=LOCAL_DEMO_PROMPT if local else None,
        temperature=0 if local else None,
    )
    seed = LOCAL_DEMO_SEED if local else "Greet me in one short sentence."
    services.chatbot_update(chatbot=chatbot, actor=user, is_public=True, seed_message=seed)
    services.version_create(chatbot=chatbot, actor=user, description="Demo", publish=True)
    stdout.write(f"Demo chatbot “{DEMO_NAME}” created and published.")

"""Optional: the real local model (make run's "llm" process) through our layer. Skipped when it isn't running."""

from __future__ import annotations

import urllib.request

import pytest

from tenant_apps.providers.llm.factory import chat_model_for
from tenant_apps.providers.llm.types import ChatParams, Message
from tests.factories.providers import llm_provider

pytestmark = pytest.mark.llm
LOCAL = "http://127.0.0.1:8011/v1"


def _local_model_running() -> bool:
    try:
        with urllib.request.urlopen(f"{LOCAL}/models", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.skipif(not _local_model_running(), reason="local model not running (make run starts it)")
def test_local_smollm2_answers_and_streams(team, catalog):
    provider = llm_provider(base_url=LOCAL, type="llamacpp", api_key="")
    model = chat_model_for(provider_id=provider.pk, model="smollm2")
    question = [Message(role="system", content="Answer briefly."), Message(role="user", content="Capital of France?")]

    result = model.chat(messages=question, params=ChatParams(temperature=0, max_tokens=24))
    streamed = list(model.stream(messages=question, params=ChatParams(temperature=0, max_tokens=24)))

    assert result.text.strip()
    assert result.usage.output_tokens > 0
    assert streamed[-1].result is not None
    assert streamed[-1].result.text.strip()

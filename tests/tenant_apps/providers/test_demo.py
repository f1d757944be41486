"""The demo team's LLM provider: local llama.cpp without keys, OpenAI/Anthropic when their keys are set."""

from __future__ import annotations

import io

from tenant_apps.providers.demo import demo_llm_choice, demo_setup
from tenant_apps.providers.models import LlmProvider


def test_demo_setup_without_keys_points_at_the_local_model(team, settings):
    settings.DEMO_OPENAI_API_KEY = settings.DEMO_ANTHROPIC_API_KEY = ""
    out = io.StringIO()

    demo_setup(team=team, user=None, stdout=out)

    provider, model = demo_llm_choice()
    assert provider.type == "llamacpp"
    assert provider.config == {"base_url": "http://127.0.0.1:8011/v1"}
    assert model == "smollm2"
    assert "smollm2" in out.getvalue()


def test_demo_setup_is_idempotent(team, settings):
    settings.DEMO_OPENAI_API_KEY = settings.DEMO_ANTHROPIC_API_KEY = ""

    demo_setup(team=team, user=None, stdout=io.StringIO())
    demo_setup(team=team, user=None, stdout=io.StringIO())

    assert LlmProvider.objects.count() == 1
    assert LlmProvider.objects.get().custom_models.count() == 1


def test_demo_setup_prefers_openai_then_anthropic(team, settings):
    settings.DEMO_OPENAI_API_KEY = ""
    settings.DEMO_ANTHROPIC_API_KEY = "sk-ant-demo-000000000000"

    demo_setup(team=team, user=None, stdout=io.StringIO())
    anthropic_choice = demo_llm_choice()
    settings.DEMO_OPENAI_API_KEY = "sk-openai-demo-0000000000"
    demo_setup(team=team, user=None, stdout=io.StringIO())
    openai_choice = demo_llm_choice()

    assert anthropic_choice[0].type == "anthropic"
    assert anthropic_choice[1] == "claude-sonnet-4-5"
    assert openai_choice[0].type == "openai"
    assert openai_choice[0].credentials.reveal() == {"api_key": "sk-openai-demo-0000000000"}
    assert openai_choice[1] == "gpt-4.1-mini"

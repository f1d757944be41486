"""Providers in a real browser: the demo's local-model provider is listed; adding an OpenAI-compatible endpoint,
testing its connection against the loopback fake, and deleting it after confirming."""

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"
KEY = "sk-e2e-never-shown-0123456789"


def test_add_test_and_delete_an_llm_provider(page, stack, fake_llm):
    fake_llm.api_key = KEY
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))

    page.get_by_role("link", name="Providers", exact=True).click()
    assert page.get_by_text("Local SmolLM2 (llama.cpp)").is_visible()

    page.get_by_role("link", name="Add LLM provider").click()
    page.get_by_role("link", name="vLLM").click()
    page.get_by_label("Name").fill("Fake vLLM")
    page.get_by_label("API key").fill(KEY)
    page.get_by_label("Base URL").fill(fake_llm.openai_base_url)
    page.get_by_role("button", name="Add provider").click()

    assert page.get_by_test_id("provider-name").inner_text() == "Fake vLLM"
    assert KEY not in page.content()
    assert page.get_by_text("••••6789").is_visible()
    page.get_by_test_id("test-connection").click()
    result = page.get_by_test_id("test-result")
    result.wait_for()
    assert "2 model(s) available" in result.inner_text()
    assert fake_llm.last_request.headers["authorization"] == f"Bearer {KEY}"

    page.get_by_role("button", name="Delete").click()
    page.get_by_test_id("confirm-delete").click()
    page.wait_for_url(stack.url("/providers/", team="demo"))
    assert page.get_by_text("Deleted “Fake vLLM”.").is_visible()
    assert page.get_by_role("link", name="Fake vLLM").count() == 0

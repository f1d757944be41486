"""What a new user sees, in Chromium: configuring a chatbot without the visual editor, the local model's progress,
adding an OpenAI-compatible endpoint's models in one click, and pages that are whole (no template syntax, no
console errors, styled error pages, toasts where the action happened)."""

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"
LEAKS = ("{#", "{%", "{{")


def _login(page, stack):
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))


def test_create_a_chatbot_change_its_prompt_and_chat(page, stack):
    _login(page, stack)
    expect(page.locator("#toasts")).to_contain_text("Successfully signed in")  # on the team host the login led to

    page.goto(stack.url("/chatbots/new/", team="demo"))
    page.get_by_label("Name").fill("Pirate")
    model = page.get_by_label("Model")
    expect(model.locator("option:checked")).to_contain_text("fake-model")
    page.get_by_label("System prompt").fill("You are a helpful assistant.")
    page.get_by_role("button", name="Create chatbot").click()
    expect(page.get_by_test_id("chatbot-name")).to_have_text("Pirate")
    expect(page.get_by_text("Created “Pirate”.")).to_be_visible()  # the toast, on the page the action led to

    page.get_by_role("tab", name="Build").click()
    expect(page.get_by_test_id("prompt-variables")).to_contain_text("{participant_data}")
    page.get_by_label("System prompt").fill("Talk like a pirate. The user is called {participant_data}.")
    page.get_by_label("Temperature").fill("0.4")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved. Chat with the working copy")).to_be_visible()
    expect(page.get_by_label("System prompt")).to_have_value(
        "Talk like a pirate. The user is called {participant_data}."
    )

    page.get_by_label("System prompt").fill("Hello {nobody}")  # refused by the pipeline validation, kept in the box
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("{nobody} is not a known variable")).to_be_visible()
    expect(page.get_by_label("System prompt")).to_have_value("Hello {nobody}")

    page.get_by_role("link", name="Chat with the working copy").click()
    composer = page.get_by_label("Message")
    composer.fill("Ahoy?")
    composer.press("Enter")
    expect(page.get_by_test_id("bubble-assistant").last).to_have_text("Echo: Ahoy?", timeout=60_000)

    sent = [r for r in stack.fake_llm.requests if r.path.endswith("/chat/completions")][-1].json
    assert sent["messages"][0] == {"role": "system", "content": "Talk like a pirate. The user is called {}."}
    assert sent["temperature"] == 0.4


def test_the_demo_chatbot_shows_its_model_being_prepared(page, stack):
    status = stack.logs / "local-llm.json"

    def write(state, progress, step):
        status.write_text(json.dumps({"state": state, "progress": progress, "step": step, "updated_at": time.time()}))

    write("preparing", 40, "Downloading the model (51 of about 127 MB)")
    try:
        _login(page, stack)
        page.get_by_role("link", name="Chatbots", exact=True).click()
        page.get_by_role("link", name="Demo assistant").click()

        banner = page.get_by_test_id("local-model-banner")
        expect(banner).to_contain_text("This chatbot's model is still being prepared")
        expect(banner).to_contain_text("Downloading the model (51 of about 127 MB) (40%)")
        expect(banner.get_by_role("link", name="Add your own provider")).to_be_visible()
        page.screenshot(path=str(stack.logs / "local-model-banner.png"))

        write("ready", 100, "Ready")  # the banner polls and says so
        expect(banner).to_contain_text("The demo model is ready.", timeout=30_000)
    finally:
        status.unlink(missing_ok=True)


def test_add_the_models_an_openai_compatible_endpoint_lists(page, stack, fake_llm):
    fake_llm.models = ["llama3.1:8b", "qwen2.5:0.5b"]
    _login(page, stack)
    page.goto(stack.url("/providers/llm/new/", team="demo"))
    page.get_by_role("link", name="OpenAI-compatible (custom base URL)").click()
    page.get_by_label("Name").fill("My gateway")
    page.get_by_label("Base URL").fill(fake_llm.openai_base_url)
    page.get_by_role("button", name="Add provider").click()

    page.get_by_test_id("test-connection").click()
    expect(page.get_by_test_id("test-result")).to_contain_text("Connected to OpenAI-compatible (custom base URL) at")
    listed = page.get_by_test_id("listed-models")
    listed.get_by_role("button", name=re.compile("llama3.1:8b")).click()
    expect(page.get_by_test_id("custom-models")).to_contain_text("llama3.1:8b")
    expect(listed.get_by_role("button", name=re.compile("llama3.1:8b"))).to_be_disabled()

    page.goto(stack.url("/chatbots/new/", team="demo"))
    expect(page.get_by_label("Model").locator("option", has_text="llama3.1:8b · My gateway")).to_have_count(1)


def test_unreachable_endpoint_error_names_the_host(page, stack):
    _login(page, stack)
    page.goto(stack.url("/providers/llm/new/?type=openai_compatible", team="demo"))
    page.get_by_label("Name").fill("Nowhere")
    page.get_by_label("Base URL").fill("http://127.0.0.1:9/v1")
    page.get_by_role("button", name="Add provider").click()
    page.get_by_test_id("test-connection").click()

    expect(page.get_by_test_id("test-result")).to_contain_text("Could not connect to")
    expect(page.get_by_test_id("test-result")).to_contain_text("at 127.0.0.1:9")


def test_main_pages_show_no_template_syntax_and_log_no_console_errors(page, stack):
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    _login(page, stack)
    chatbot_id = stack.sql("SELECT id FROM t_demo.chatbots_chatbot WHERE name = 'Demo assistant'")[0][0]
    paths = [
        "/",
        "/chatbots/",
        f"/chatbots/{chatbot_id}/",
        f"/chatbots/{chatbot_id}/build/",
        f"/chatbots/{chatbot_id}/settings/",
        f"/chatbots/{chatbot_id}/versions/",
        f"/chatbots/{chatbot_id}/chat/",
        "/sessions/",
        "/providers/",
        "/members/",
        "/settings/",
        "/settings/audit/",
    ]

    for path in paths:
        page.goto(stack.url(path, team="demo"))
        text = page.locator("body").inner_text()
        assert not [token for token in LEAKS if token in text], f"{path} shows template syntax"
        active = page.locator("aside .menu-active")
        expect(active).to_have_count(1)

    page.goto(stack.url("/"))
    assert not [token for token in LEAKS if token in page.locator("body").inner_text()]
    assert errors == []


def test_unknown_team_page_is_styled_and_has_the_favicon(page, stack):
    failed: list[str] = []
    page.on("response", lambda response: failed.append(response.url) if response.status >= 400 else None)

    response = page.goto(stack.url("/", team="no-such-team"))

    assert response.status == 404
    expect(page.get_by_role("heading", name="There is no team at this address")).to_be_visible()
    card = page.locator(".card").first
    assert card.evaluate("e => getComputedStyle(e).borderRadius") != "0px"  # DaisyUI's card: the CSS loaded
    icon = page.evaluate("fetch('/favicon.ico').then(r => r.status)")
    assert icon == 200
    assert [url for url in failed if "/static/" in url] == []
    page.screenshot(path=str(stack.logs / "unknown-team.png"))

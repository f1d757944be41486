"""A builder's journey in Chromium: create a chatbot, chat with it (the worker answers through the fake LLM), read the
turn's trace, create and publish a version, and chat on the public link as an anonymous visitor."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"


def test_create_chat_trace_and_publish(page, stack, browser):
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))

    page.get_by_role("link", name="Chatbots", exact=True).click()
    expect(page.get_by_text("Demo assistant")).to_be_visible()  # seeded by setup_demo
    page.get_by_test_id("new-chatbot").click()
    page.get_by_label("Name").fill("Trip planner")
    page.get_by_label("Description").fill("Plans weekend trips")
    page.get_by_role("button", name="Create chatbot").click()
    expect(page.get_by_test_id("chatbot-name")).to_have_text("Trip planner")

    page.get_by_test_id("chat-working").click()
    composer = page.get_by_label("Message")
    composer.fill("Where should I go this weekend?")
    composer.press("Enter")

    assistant = page.get_by_test_id("bubble-assistant").last
    expect(assistant).to_have_text("Echo: Where should I go this weekend?", timeout=60_000)
    expect(composer).to_have_value("")
    trace = page.get_by_test_id("trace")
    expect(trace).to_contain_text("Success")
    expect(trace).to_contain_text("llm")
    expect(trace).to_contain_text("fake-model")

    composer.fill("And the week after?")
    composer.press("Enter")
    expect(page.get_by_test_id("bubble-assistant").last).to_have_text("Echo: And the week after?", timeout=60_000)
    history = stack.fake_llm.last_request.json["messages"]
    assert [m["role"] for m in history] == ["system", "user", "assistant", "user"]

    page.get_by_role("link", name="Trip planner").click()
    page.get_by_role("tab", name="Settings").click()
    page.get_by_label("Public link: anyone with the link can chat").check()
    page.get_by_role("button", name="Save settings").click()
    page.get_by_role("tab", name="Versions").click()
    page.get_by_placeholder("What changed?").fill("First release")
    page.get_by_role("button", name="Create version").click()
    expect(page.get_by_text("Created version 1 and published it.")).to_be_visible()
    expect(page.get_by_test_id("version-table")).to_contain_text("published")

    page.get_by_role("tab", name="Overview").click()
    expect(page.get_by_test_id("published-badge")).to_have_text("Published: v1")
    public_url = page.get_by_test_id("public-link").get_attribute("href")

    visitor = browser.new_context().new_page()
    visitor.goto(stack.url(public_url, team="demo"))
    chat_requests: list[str] = []
    visitor.on("request", lambda request: chat_requests.append(request.url))
    stack.fake_llm.reply("Hello, visitor!", delay=4)  # a slow answer: the page shows the message meanwhile
    box = visitor.get_by_label("Message")
    box.fill("Hi from outside")
    box.press("Enter")
    expect(visitor.get_by_text("Hi from outside")).to_be_visible()
    expect(visitor.get_by_test_id("bubble-assistant")).to_have_count(0)  # shown before the reply, not with it
    expect(box).to_have_value("")  # moved from the box into the bubble
    expect(visitor.get_by_label("The bot is typing")).to_be_visible()
    expect(visitor.get_by_test_id("bubble-assistant").last).to_have_text("Hello, visitor!", timeout=60_000)
    expect(visitor.get_by_label("The bot is typing")).to_have_count(0)
    expect(visitor.get_by_text("Hi from outside")).to_have_count(1)  # the server's bubble replaced the page's own
    turn_requests = [url for url in chat_requests if "/send/" in url or "/reply/" in url or "/stream/" in url]
    kinds = ["stream" if "/stream/turn/" in url else url.rsplit("/", 2)[-2] for url in turn_requests]
    assert kinds == ["send", "stream"]  # the send answers at once; the reply comes over its stream
    expect(visitor.get_by_test_id("trace-panel")).to_have_count(0)
    box.fill("   ")  # refused by the server: the error shows and the text stays in the box
    box.press("Enter")
    expect(visitor.get_by_text("Write a message first.")).to_be_visible()
    expect(box).to_have_value("   ")
    expect(visitor.locator("[data-optimistic]")).to_have_count(0)
    visitor.context.close()

    page.get_by_role("link", name="Sessions", exact=True).click()
    expect(page.get_by_test_id("session-table")).to_contain_text("Public link")
    expect(page.get_by_test_id("session-table")).to_contain_text("Trip planner")
    expect(page.get_by_test_id("last-message").first).to_have_text("Hello, visitor!")

    page.get_by_test_id("session-search").fill("week after")  # words from the in-app session only
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("session-table").locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("session-table")).not_to_contain_text("Public link")

    page.get_by_test_id("session-table").get_by_role("link").first.click()
    controls = page.get_by_test_id("review-controls").first
    expect(controls).to_have_css("opacity", "0")  # not on every message at once
    page.get_by_test_id("transcript").locator(".card").first.hover()
    expect(controls).to_have_css("opacity", "1")
    page.mouse.move(0, 0)
    expect(controls).to_have_css("opacity", "0")
    page.get_by_label("Add tag").first.focus()  # keyboard users reach them too
    expect(controls).to_have_css("opacity", "1")

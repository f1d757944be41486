"""Token streaming in Chromium through the whole stack (gunicorn, the uvicorn stream server, a Celery worker, Redis,
the fake LLM streaming at a realistic pace): the public link and the in-app chat show tokens as they come and end
with exactly the stored reply; a message typed while a reply is pending is never lost; the public link creates its
session on the first message, not on page load."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login
from tests.fakes.llm_server import Profile

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # the first test also waits for the stack to boot

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"


def _public_url(stack) -> str:  # type: ignore[no-untyped-def]
    stack.sql("UPDATE t_demo.chatbots_chatbot SET is_public = true WHERE name = 'Demo assistant'")
    (public_id,) = stack.sql("SELECT public_id FROM t_demo.chatbots_chatbot WHERE name = 'Demo assistant'")[0]
    return stack.url(f"/c/{public_id}/", team="demo")


def _visitor(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context()
    context.set_default_timeout(60_000)  # a ceiling for a busy machine; waits end as soon as the condition holds
    return context.new_page()


def _sessions(stack) -> int:  # type: ignore[no-untyped-def]
    return stack.sql("SELECT count(*) FROM t_demo.conversations_chatsession WHERE platform = 'public_link'")[0][0]


def test_public_link_streams_tokens_then_shows_exactly_the_stored_reply(browser, stack):
    url = _public_url(stack)
    stack.fake_llm.profile = Profile(first_token=0.5, tokens=60, seconds=4.0)
    visitor = _visitor(browser)
    before = _sessions(stack)
    visitor.goto(url)
    assert _sessions(stack) == before  # opening the link creates nothing

    box = visitor.get_by_label("Message")
    box.fill("Tell me a story")
    box.press("Enter")

    streaming = visitor.get_by_test_id("streaming")
    text = streaming.locator("[data-stream-text]")
    expect(text).to_contain_text("Echo: Tell me a story", timeout=60_000)
    seen = [text.inner_text()]
    deadline = time.monotonic() + 60
    while streaming.count() and time.monotonic() < deadline:  # sample the text while it grows
        try:
            seen.append(text.inner_text(timeout=1000))
        except Exception:
            break
        time.sleep(0.15)
    expect(streaming).to_have_count(0, timeout=60_000)
    final = visitor.get_by_test_id("bubble-assistant").last
    assert _sessions(stack) == before + 1  # the first message started the session

    stored = stack.sql(  # the reply to this message (other journeys' turns may finish later on a busy machine)
        "SELECT r.content FROM t_demo.conversations_chatmessage r JOIN t_demo.conversations_chatmessage m"
        " ON r.reply_to_id = m.id WHERE m.content = 'Tell me a story' ORDER BY r.id DESC LIMIT 1"
    )[0][0]
    growing = [sample for sample in seen if sample]
    assert len(set(growing)) >= 3, f"tokens arrived in pieces: {growing}"
    assert all(stored.startswith(sample.strip()) for sample in growing), "every sample is a prefix of the reply"
    assert final.inner_text().strip() == stored.strip()
    visitor.screenshot(path=str(stack.logs / "public-streaming.png"))
    visitor.context.close()


def test_a_message_typed_while_a_reply_is_pending_is_sent_after_it(browser, stack):
    url = _public_url(stack)
    stack.fake_llm.profile = Profile(first_token=1.0, tokens=20, seconds=2.0)
    visitor = _visitor(browser)
    visitor.goto(url + "?new=1")
    box = visitor.get_by_label("Message")
    box.fill("first question")
    box.press("Enter")
    box.fill("second question")  # typed at once, while the first is being sent and answered
    box.press("Enter")

    bubbles = visitor.get_by_test_id("bubble-assistant")  # after the demo bot's greeting
    expect(bubbles.filter(has_text="Echo: first question")).to_have_count(1, timeout=90_000)
    expect(bubbles.filter(has_text="Echo: second question")).to_have_count(1, timeout=90_000)
    expect(visitor.get_by_test_id("bubble-user")).to_have_text(["first question", "second question"])
    expect(box).to_have_value("")
    visitor.context.close()


def test_in_app_chat_streams_and_keeps_its_trace(page, stack):
    stack.fake_llm.profile = Profile(first_token=0.5, tokens=40, seconds=3.0)
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    (chatbot_id,) = stack.sql("SELECT id FROM t_demo.chatbots_chatbot WHERE name = 'Demo assistant'")[0]
    page.goto(stack.url(f"/chatbots/{chatbot_id}/chat/", team="demo"))
    box = page.get_by_label("Message")
    box.fill("Stream in the app")
    box.press("Enter")

    expect(page.get_by_test_id("streaming").locator("[data-stream-text]")).to_contain_text("Echo:", timeout=60_000)
    expect(page.get_by_test_id("streaming")).to_have_count(0, timeout=60_000)
    final = page.get_by_test_id("bubble-assistant").last
    expect(final).to_contain_text("Echo: Stream in the app w0")
    expect(page.get_by_test_id("trace")).to_contain_text("Success")
    assert re.match(r"message-\d+", page.locator("[data-role=assistant]").last.get_attribute("id") or "")
    page.screenshot(path=str(stack.logs / "member-streaming.png"), full_page=True)


def test_stop_ends_the_generation_and_keeps_what_was_streamed(browser, stack):
    url = _public_url(stack)
    stack.fake_llm.profile = Profile(first_token=0.3, tokens=400, seconds=30.0)  # a long answer
    visitor = _visitor(browser)
    visitor.goto(url + "?new=1")
    box = visitor.get_by_label("Message")
    box.fill("Go on and on")
    box.press("Enter")
    streaming = visitor.get_by_test_id("streaming")
    expect(streaming.locator("[data-stream-text]")).to_contain_text("w3", timeout=60_000)
    visitor.get_by_role("button", name="Stop").click()

    final = visitor.get_by_test_id("bubble-assistant").last
    expect(streaming).to_have_count(0, timeout=60_000)
    assert "w399" not in final.inner_text()  # cut short
    visitor.context.close()

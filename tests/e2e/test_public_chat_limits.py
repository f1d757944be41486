"""Anonymous chat limits as a visitor sees them (ADR 0067): past the per-visitor message limit the page says when to
try again and keeps the text; past the new-session limit the link shows a friendly page (429)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

PUBLIC_BOT = """
from tenants.models import Team
from tenants.context import tenant_context
from tenant_apps.chatbots.services import chatbot_create, chatbot_update, version_create
with tenant_context(Team.objects.get(slug="demo")):
    bot = chatbot_create(name="Busy helper", created_by=None)
    chatbot_update(chatbot=bot, actor=None, is_public=True)
    version_create(chatbot=bot, actor=None)
    print(bot.public_id)
"""


def test_a_visitor_over_the_limits_is_told_when_to_try_again(stack, browser, tmp_path):
    public_id = stack.manage("shell", "-c", PUBLIC_BOT).strip().splitlines()[-1]
    visitor = browser.new_context(viewport={"width": 1000, "height": 760}).new_page()
    visitor.set_default_timeout(60_000)
    visitor.goto(stack.url(f"/c/{public_id}/", team="demo"))
    box = visitor.get_by_label("Message")
    warning = visitor.get_by_role("alert").filter(has_text="Please wait")

    status = 0
    for n in range(25):  # the default limit is 20 a minute per visitor
        expect(visitor.get_by_role("button", name="Send")).to_be_enabled()
        box.fill(f"message {n}")
        with visitor.expect_response(lambda response: "/send/" in response.url) as sent:
            box.press("Enter")
        status = sent.value.status
        if status == 429:
            break
        expect(visitor.get_by_test_id("bubble-assistant").last).to_have_text(f"Echo: message {n}")

    assert status == 429
    assert int(sent.value.headers["retry-after"]) > 0
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("faster than this chat can take them")
    expect(box).to_have_value(f"message {n}")  # the refused text is back in the box
    visitor.screenshot(path=str(tmp_path / "message-limit.png"))

    # New sessions are limited where they are now created, at a visitor's first message (page loads create
    # nothing): tests/tenant_apps/conversations/views/test_public_link.py checks that boundary.

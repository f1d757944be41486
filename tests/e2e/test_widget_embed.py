"""The unmodified npm widget 0.6.0 (vendored by the build) on a page of another origin, talking to the team host.

A builder adds a widget channel in the app; a host page on ``127.0.0.1:<port>`` embeds the vendored widget pointing
at ``demo.localhost:<port>`` (a second origin: CORS, preflights and the allowed-site check are real). The visitor
opens it, sends, and sees the bot's reply (the worker answers through the fake LLM). A wrong key and a site not
allowed fail visibly; a SESSION_TOKEN channel refuses the widget (it sends no token) and answers a client that
sends one. The 0.6.0 poll race is exercised by every send: the participant's bubble must appear once.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT, login
from tests.fakes.llm_server import Profile

pytestmark = pytest.mark.e2e

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"
WIDGET_DIST = ROOT / "static" / "vendor" / "open-chat-studio-widget"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def host_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """A plain static site on 127.0.0.1 (another origin than the team host) holding the vendored widget."""
    if not (WIDGET_DIST / "open-chat-studio-widget.esm.js").exists():
        pytest.fail("static/vendor/open-chat-studio-widget is missing: run `npm run build` (infra/dev/setup.sh)")
    root = tmp_path_factory.mktemp("host-site")
    shutil.copytree(WIDGET_DIST, root / "widget")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, server.server_address[1]
    server.shutdown()


def _host_page(root: Path, name: str, attrs: dict[str, str], *, ours: dict[str, str] | None = None) -> str:
    """A shop page with the npm widget; with ``ours``, our streaming widget beside it (served by the team host)."""
    attributes = " ".join(f'{key}="{value}"' for key, value in attrs.items())
    ours_tags = ""
    if ours is not None:
        our_attributes = " ".join(f'{key}="{value}"' for key, value in ours.items())
        ours_tags = (
            f'<script src="{ours["api-base-url"]}/static/build/chat-widget.js" defer></script>'
            f'<chat-studio-widget {our_attributes} button-text="Ask us" header-text="Shop help"></chat-studio-widget>'
        )
    (root / f"{name}.html").write_text(
        "<!doctype html><html><head><title>Shop</title>"
        '<script type="module" src="/widget/open-chat-studio-widget.esm.js"></script></head>'
        f"<body><h1>Our shop</h1><open-chat-studio-widget {attributes}></open-chat-studio-widget>{ours_tags}"
        "</body></html>"
    )
    return f"{name}.html"


def _add_widget_channel(page, stack, name: str, *, sites: str, auth: str) -> tuple[str, str]:
    """Through the app: add a widget channel to the demo chatbot, allow ``sites``. Returns (chatbot id, key)."""
    page.get_by_role("link", name="Chatbots", exact=True).click()
    page.get_by_role("link", name="Demo assistant").first.click()
    page.get_by_role("tab", name="Channels").click()
    page.get_by_label("Type").select_option("widget")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Add channel").click()
    expect(page.get_by_text(f"Added the channel “{name}”.")).to_be_visible()
    page.get_by_label("Allowed sites").fill(sites)
    page.get_by_label("Authentication").select_option(auth)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Channel settings saved.")).to_be_visible()
    page.screenshot(path=str(stack.logs / f"channel-{auth}.png"), full_page=True)
    snippet = page.get_by_test_id("snippet-npm-vendored").inner_text()
    chatbot_id = re.search(r'chatbot-id="([^"]+)"', snippet).group(1)
    key = re.search(r'embed-key="([^"]+)"', snippet).group(1)
    return chatbot_id, key


def _widget_send(visitor, text: str) -> None:
    textarea = visitor.locator("open-chat-studio-widget textarea.message-textarea")
    expect(textarea).to_be_enabled()
    textarea.fill(text)
    textarea.press("Enter")


def test_npm_widget_on_another_origin(page, stack, browser, host_site):
    root, port = host_site
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    chatbot_id, key = _add_widget_channel(page, stack, "Shop widget", sites="127.0.0.1", auth="1")
    api = f"http://demo.localhost:{stack.port}"
    base = {"chatbot-id": chatbot_id, "api-base-url": api, "visible": "true", "button-text": "Chat"}
    ours = {"api-base-url": api, "chatbot-id": chatbot_id, "embed-key": key}
    good = _host_page(root, "good", {**base, "embed-key": key}, ours=ours)
    wrong = _host_page(root, "wrong", {**base, "embed-key": "not-the-key"})

    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(60_000)
    visitor.goto(f"http://127.0.0.1:{port}/{good}")
    _widget_send(visitor, "Do you ship to Lisbon?")
    assistant = visitor.locator("open-chat-studio-widget .message-bubble-assistant").last
    expect(assistant).to_contain_text("Echo: Do you ship to Lisbon?", timeout=90_000)
    _widget_send(visitor, "And to Porto?")
    expect(visitor.locator("open-chat-studio-widget .message-bubble-assistant").last).to_contain_text(
        "Echo: And to Porto?", timeout=90_000
    )
    # The poll race: the widget polled right after /start/ while its first message was on the way.
    expect(visitor.locator("open-chat-studio-widget .message-bubble-user")).to_have_count(2)
    assistant_bubbles = visitor.locator("open-chat-studio-widget .message-bubble-assistant")
    # each reply once (the bot's greeting may also come in by the widget's 30 s poll: a message of its own)
    expect(assistant_bubbles.filter(has_text="Echo: Do you ship to Lisbon?")).to_have_count(1)
    expect(assistant_bubbles.filter(has_text="Echo: And to Porto?")).to_have_count(1)
    visitor.screenshot(path=str(stack.logs / "widget-embed.png"))

    # Our own widget on the same page, same channel: it streams its reply token by token.
    stack.fake_llm.profile = Profile(first_token=0.5, tokens=40, seconds=3.0)
    visitor.get_by_role("button", name="Ask us").click()
    box = visitor.get_by_role("dialog", name="Shop help").get_by_label("Message")
    box.fill("Can I pay by card?")
    box.press("Enter")
    streaming = visitor.locator("chat-studio-widget .msg.streaming")
    expect(streaming).to_contain_text("Echo: Can I pay by card?", timeout=90_000)
    partial = streaming.inner_text().strip()
    finished = visitor.locator("chat-studio-widget .msg.assistant:not(.streaming)")
    expect(finished).to_have_count(1, timeout=90_000)
    whole = finished.inner_text().strip()
    assert whole.startswith(partial)
    assert len(partial) < len(whole)  # seen while the reply was still coming
    visitor.screenshot(path=str(stack.logs / "widget-embed-both.png"))

    stranger = browser.new_context().new_page()
    stranger.goto(f"http://127.0.0.1:{port}/{wrong}")
    _widget_send(stranger, "hello?")
    expect(stranger.locator("open-chat-studio-widget .message-bubble-system").last).to_contain_text(
        "Failed to start chat session"
    )

    elsewhere = browser.new_context().new_page()
    elsewhere.goto(f"http://localhost:{port}/{good}")  # same page, a hostname the channel does not allow
    _widget_send(elsewhere, "hello?")
    expect(elsewhere.locator("open-chat-studio-widget .message-bubble-system").last).to_contain_text(
        "Failed to start chat session"
    )
    rows = stack.sql(  # this journey's messages (other journeys chat on widget channels of the same stack too)
        "SELECT m.content FROM t_demo.conversations_chatmessage m JOIN t_demo.conversations_chatsession s "
        "ON s.id = m.session_id WHERE s.platform = 'widget' AND m.role = 'user' AND NOT m.hidden "
        "AND m.content IN ('Do you ship to Lisbon?', 'And to Porto?', 'Can I pay by card?', 'hello?')"
    )
    # the npm widget's two and ours; nothing stored for the refused visitors
    assert sorted(row[0] for row in rows) == ["And to Porto?", "Can I pay by card?", "Do you ship to Lisbon?"]


def test_session_token_channel_refuses_the_tokenless_widget(page, stack, browser, host_site):
    root, port = host_site
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    chatbot_id, key = _add_widget_channel(page, stack, "Token widget", sites="127.0.0.1", auth="2")
    api = f"http://demo.localhost:{stack.port}"
    name = _host_page(
        root, "token", {"chatbot-id": chatbot_id, "api-base-url": api, "visible": "true", "embed-key": key}
    )

    visitor = browser.new_context().new_page()
    visitor.set_default_timeout(60_000)
    visitor.goto(f"http://127.0.0.1:{port}/{name}")
    _widget_send(visitor, "hello")
    expect(visitor.locator("open-chat-studio-widget .message-bubble-system").last).to_contain_text(
        "Failed to send message"
    )
    answer = visitor.evaluate(
        """async ([api, chatbotId, key]) => {
            const headers = {"Content-Type": "application/json", "X-Embed-Key": key, "x-ocs-widget-version": "0.11.0"};
            const start = await (await fetch(`${api}/api/chat/start/`, {method: "POST", headers,
                body: JSON.stringify({chatbot_id: chatbotId, participant_remote_id: "token-client"})})).json();
            const sent = await fetch(`${api}/api/chat/${start.session_id}/message/`, {method: "POST",
                headers: {...headers, "X-Session-Token": start.session_token}, body: JSON.stringify({message: "hi"})});
            return {status: sent.status, body: await sent.json(), token: start.session_token};
        }""",
        [api, chatbot_id, key],
    )
    assert answer["token"]
    assert answer["status"] == 202, json.dumps(answer)
    assert answer["body"]["task_id"]

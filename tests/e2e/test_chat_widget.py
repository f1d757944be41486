"""Our widget (<chat-studio-widget>, assets/widget/) in Chromium on a page of another origin: it starts a session
through the widget chat API, streams a reply from the stream server, ends with exactly the stored reply, keeps the
conversation across a page load, and passes axe-core."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.fakes.llm_server import Profile

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"

CREATE_CHANNEL = """
from tenant_apps.channels import services
from tenant_apps.channels.enums import ChannelKind, WidgetAuthLevel
from tenant_apps.chatbots.models import Chatbot
from tenants.context import tenant_context
from tenants.models import Team
with tenant_context(Team.objects.get(slug="demo")):
    bot = Chatbot.objects.get(name="Demo assistant")
    channel = services.channel_create(chatbot=bot, kind=ChannelKind.WIDGET, name="Our widget e2e",
        config={"allowed_domains": ["127.0.0.1"], "auth_level": WidgetAuthLevel.SESSION_TOKEN})
    print(bot.public_id, channel.embed_key)
"""


@contextlib.contextmanager
def _site(html: str) -> Iterator[str]:
    """A customer's site: one page on its own origin (127.0.0.1, while the team lives on demo.localhost)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.shutdown()


@pytest.mark.timeout(900)  # the first test of a session also waits for the stack to boot on a busy machine
def test_the_widget_on_another_site_streams_a_reply_and_passes_axe(browser, stack):
    public_id, embed_key = stack.manage("shell", "-c", CREATE_CHANNEL).strip().splitlines()[-1].split()
    api = stack.url("", team="demo").rstrip("/")
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Acme</title>
<script src="{api}/static/build/chat-widget.js" defer></script></head>
<body><main><h1>Acme garden supplies</h1><p>Ask our assistant anything.</p></main>
<chat-studio-widget api-base-url="{api}" chatbot-id="{public_id}" embed-key="{embed_key}" header-text="Acme help"
 button-text="Chat with us" allow-attachments></chat-studio-widget></body></html>"""
    stack.fake_llm.profile = Profile(first_token=0.5, tokens=40, seconds=3.0)
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(60_000)
    page = context.new_page()
    with _site(html) as site:
        page.goto(site)
        launcher = page.get_by_role("button", name="Chat with us")
        expect(launcher).to_have_attribute("aria-expanded", "false")
        launcher.click()
        dialog = page.get_by_role("dialog", name="Acme help")
        expect(dialog).to_be_visible()
        box = page.get_by_label("Message")
        expect(box).to_be_focused()
        box.fill("What grows in shade?")
        box.press("Enter")

        streaming = page.locator("chat-studio-widget .msg.streaming")
        expect(streaming).to_contain_text("Echo: What grows in shade?", timeout=60_000)
        partial = streaming.inner_text()
        reply = page.locator("chat-studio-widget .msg.assistant:not(.streaming)")
        expect(reply).to_have_count(1, timeout=60_000)
        stored = stack.sql(  # the reply to this message (the bot's greeting turn may finish after it)
            "SELECT r.content FROM t_demo.conversations_chatmessage r JOIN t_demo.conversations_chatmessage m"
            " ON r.reply_to_id = m.id WHERE m.content = 'What grows in shade?' ORDER BY r.id DESC LIMIT 1"
        )[0][0]
        assert stored.startswith(partial.strip())
        assert len(partial.strip()) < len(stored)  # seen before the reply was complete
        assert reply.inner_text().strip() == stored.strip()
        assert "<p>" in reply.inner_html()  # the server's sanitised markdown

        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("""async () => {
            const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}));
        }""")
        assert [v for v in violations if v["impact"] in ("serious", "critical")] == [], violations
        page.screenshot(path=str(stack.logs / "widget.png"))

        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(launcher).to_be_focused()

        page.reload()  # the session and the transcript survive a page load
        page.get_by_role("button", name="Chat with us").click()
        expect(page.locator("chat-studio-widget .msg.user")).to_have_text(["What grows in shade?"])
        expect(page.locator("chat-studio-widget .msg.assistant")).to_have_count(1)
        page.get_by_label("Message").fill("And in sun?")
        page.get_by_label("Message").press("Enter")
        expect(page.locator("chat-studio-widget .msg.assistant:not(.streaming)")).to_have_count(2, timeout=60_000)
        sessions = stack.sql("SELECT count(*) FROM t_demo.conversations_chatsession WHERE platform = 'widget'")[0][0]
        assert sessions == 1  # the same session after the reload
    context.close()

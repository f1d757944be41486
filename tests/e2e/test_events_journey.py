"""A builder's events journey in Chromium: add an event trigger and a timeout on the Events tab, publish them, chat
so the trigger fires (the event log shows it), schedule a message for the participant and cancel it (with the
confirmation), and send a broadcast whose progress bar completes (the worker sends it).

Set ``EVENTS_SCREENSHOTS=<dir>`` to keep screenshots of the pages."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"
SHOTS = os.environ.get("EVENTS_SCREENSHOTS")


def shot(page, name):
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_triggers_schedules_and_broadcasts(page, stack):
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    page.get_by_role("link", name="Chatbots", exact=True).click()
    page.get_by_role("link", name="Demo assistant").first.click()

    page.get_by_test_id("events-tab").click()
    page.get_by_role("link", name="Add event trigger").click()
    page.get_by_label("Name").fill("Log new conversations")
    page.get_by_label("When").select_option("conversation_started")
    page.get_by_label("Action").select_option("log")
    shot(page, "events-trigger-form")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Add timeout").click()
    page.get_by_label("Name").fill("Re-engage after a day")
    page.get_by_label("After this much silence").fill("24")
    page.get_by_label("Action").select_option("send_message_to_bot")
    page.locator("textarea[name=message]").fill("Ask the participant whether they need anything else.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("static-trigger-table")).to_contain_text("Log new conversations")
    expect(page.get_by_test_id("timeout-trigger-table")).to_contain_text("Re-engage after a day")

    page.get_by_role("tab", name="Versions").click()
    page.get_by_placeholder("What changed?").fill("Events")
    page.get_by_label("Publish it").check()
    page.get_by_role("button", name="Create version").click()
    expect(page.get_by_test_id("version-table")).to_contain_text("Events")

    page.get_by_test_id("version-table").get_by_role("link", name="Chat").first.click()
    expect(page.get_by_label("Message")).to_be_visible()  # the chat page opened a session on the new version

    page.goto(stack.url("/chatbots/", team="demo"))
    page.get_by_role("link", name="Demo assistant").first.click()
    page.get_by_test_id("events-tab").click()
    log = page.get_by_test_id("event-log-table")
    for _ in range(30):  # the worker logs it in the background: reload until it shows (a ceiling, not a sleep)
        if "Log new conversations" in (log.text_content() if log.count() else ""):
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(log).to_contain_text("Log new conversations")
    expect(log).to_contain_text("Logged.")
    shot(page, "events-tab")

    # The builder's own chat (other journeys leave public-link visitors' sessions on the list too).
    page.goto(stack.url(f"/sessions/?participant={DEMO_EMAIL}", team="demo"))
    page.get_by_test_id("session-table").get_by_role("link").first.click()
    page.get_by_test_id("participant-link").click()
    form = page.get_by_test_id("schedule-form")
    form.get_by_label("Chatbot").select_option(label="Demo assistant")  # the demo participant chats with two bots
    form.get_by_label("Message").fill("Don't forget your appointment tomorrow")
    form.get_by_label("First send (UTC)").fill(f"{(datetime.now(UTC) + timedelta(days=2)).date()}T09:00")
    form.get_by_label("Repeat every").fill("1")
    form.get_by_label("Unit").select_option("days")
    form.get_by_label("Times in all").fill("3")
    form.get_by_role("button", name="Schedule").click()
    expect(page.get_by_test_id("scheduled-table")).to_contain_text("Don't forget your appointment tomorrow")
    shot(page, "participant-scheduled")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("scheduled-cancel").click()
    expect(page.get_by_test_id("scheduled-table")).to_contain_text("Cancelled")

    page.goto(stack.url("/chatbots/", team="demo"))
    page.get_by_role("link", name="Demo assistant").first.click()
    page.get_by_test_id("broadcasts-tab").click()
    page.get_by_label("Message").fill("We are closed on Friday.")
    page.get_by_label("Web chat").check()
    page.get_by_label("WhatsApp").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send broadcast").click()
    progress = page.get_by_test_id("broadcast-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=60_000)
    expect(progress).to_contain_text("delivered")
    page.reload()
    expect(page.get_by_test_id("recipient-table")).to_contain_text("delivered")
    shot(page, "broadcast-detail")

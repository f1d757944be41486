"""A staff member in Chromium: sets up two-factor authentication (the console requires it), finds a team, flags a
feature, suspends and unsuspends it, visits it read-only (banner, a refused change), ends the visit, and reads the
health page, the audit log and the public status page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # a stack, two teams and a 2FA setup on a busy box

STAFF, PASSWORD = "staff-e2e@example.com", "staff-password-123"
SHOTS = os.environ.get("E2E_SCREENSHOT_DIR", "")


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238 (SHA-1, 6 digits, 30 s), what an authenticator app shows."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((at or time.time()) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def _code_page(page, secret):
    """Type a fresh code (a code is accepted once: wait for the next 30 s window when the page refuses it)."""
    for _ in range(3):
        page.fill("input[name=code]", totp(secret))
        page.click("button[type=submit]")
        page.wait_for_load_state()
        if "/2fa/" not in page.url:
            return
        time.sleep(31 - time.time() % 30)
    raise AssertionError(f"code refused on {page.url}")


def test_staff_console_journey(page, stack):
    stack.manage("create_team", "--slug", "staff-home", "--name", "Staff Home", "--owner-email", STAFF,
                 "--owner-password", PASSWORD)  # fmt: skip
    stack.manage("create_team", "--slug", "acme-e2e", "--name", "Acme E2E", "--owner-email", "acme@example.com",
                 "--owner-password", "acme-password-123")  # fmt: skip
    stack.sql("UPDATE accounts_user SET is_staff = true WHERE email = %s", (STAFF,))
    login(page, stack, STAFF, PASSWORD)
    page.wait_for_url(re.compile(r"http://(staff-home\.)?localhost:\d+/.*"))

    page.goto(stack.url("/console/"))
    secret = ""
    for _ in range(6):  # allauth: confirm the password, set up the authenticator, then give a code
        page.wait_for_load_state()
        if "/accounts/reauthenticate/" in page.url:
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
        elif "/2fa/totp/activate/" in page.url:
            secret = page.locator("#authenticator_secret").input_value()
            _code_page(page, secret)
        elif "/2fa/reauthenticate/" in page.url:
            _code_page(page, secret)
        elif re.search(r"/console/$", page.url):
            break
        else:
            page.goto(stack.url("/console/"))
    expect(page.get_by_test_id("chart-signups")).to_be_visible()
    _shot(page, "console-overview")

    page.goto(stack.url("/console/teams/"))
    page.get_by_test_id("team-search").fill("acme")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("console-teams").locator("tbody tr")).to_have_count(1)
    _shot(page, "console-teams")
    page.get_by_role("link", name="Acme E2E").click()
    expect(page.get_by_test_id("console-team-name")).to_have_text("Acme E2E")

    page.get_by_test_id("flag-evaluations").check()
    expect(page.get_by_text("Flag evaluations on.")).to_be_visible()
    page.fill("#suspend-reason", "e2e: abuse report")
    page.get_by_test_id("suspend").click()
    expect(page.get_by_test_id("console-team-status")).to_have_text("Suspended")
    page.get_by_test_id("unsuspend").click()
    expect(page.get_by_test_id("console-team-status")).to_have_text("Active")
    _shot(page, "console-team-detail")

    page.fill("#visit-reason", "e2e: support ticket 7")
    page.get_by_test_id("visit-start").click()
    page.wait_for_url(stack.url("/", team="acme-e2e"))
    expect(page.get_by_test_id("visit-banner")).to_be_visible()
    _shot(page, "staff-visit-banner")
    page.goto(stack.url("/chatbots/", team="acme-e2e"))
    expect(page.get_by_test_id("visit-banner")).to_be_visible()
    csrf = next(c["value"] for c in page.context.cookies(stack.url("/", team="acme-e2e")) if c["name"] == "csrftoken")
    refused = page.request.post(
        stack.url("/chatbots/new/", team="acme-e2e"),
        form={"name": "sneaky"},
        headers={"X-CSRFToken": csrf, "Referer": stack.url("/chatbots/", team="acme-e2e")},
    )
    assert refused.status == 403
    page.get_by_test_id("visit-end").click()
    page.wait_for_url(re.compile(r"http://localhost:\d+/console/teams/\d+/"))
    expect(page.get_by_test_id("visits")).to_contain_text("ended")

    page.goto(stack.url("/console/audit/?action=impersonation"))
    expect(page.get_by_test_id("audit-table")).to_contain_text("impersonation.request")
    expect(page.get_by_test_id("audit-table")).to_contain_text("impersonation.ended")
    _shot(page, "console-audit")

    page.goto(stack.url("/console/health/"))
    expect(page.get_by_test_id("health-checks")).to_contain_text("Database")
    expect(page.get_by_test_id("queues")).not_to_contain_text("no live worker")  # the stack's worker reports
    _shot(page, "console-health")

    page.goto(stack.url("/status/"))
    expect(page.get_by_test_id("status-components")).to_contain_text("Chat processing")
    _shot(page, "status-page")
    assert stack.sql("SELECT count(*) FROM console_impersonation WHERE ended_at IS NOT NULL") == [(1,)]

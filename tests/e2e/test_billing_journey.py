"""An owner upgrades in Chromium: the billing page, Stripe Checkout (the loopback double's hosted page), payment,
the signed webhooks back to the apex, and the billing page again on the new plan; then "Manage billing" opens the
customer portal and returns."""

import os
import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

EMAIL, PASSWORD = "billing-owner@example.com", "billing-password-123"
SHOTS = os.environ.get("E2E_SCREENSHOT_DIR", "")  # keep a screenshot of each step there (for reviewing the pages)


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_upgrade_through_checkout_and_back(page, stack):
    stack.manage(
        "create_team",
        "--slug",
        "billing-co",
        "--name",
        "Billing Co",
        "--owner-email",
        EMAIL,
        "--owner-password",
        PASSWORD,
    )
    login(page, stack, EMAIL, PASSWORD)
    page.wait_for_url(re.compile(r"http://(billing-co\.)?localhost:\d+/.*"))

    page.goto(stack.url("/settings/billing/", team="billing-co"))
    expect(page.get_by_test_id("current-plan")).to_have_text("Free")
    expect(page.get_by_test_id("no-invoices")).to_be_visible()
    _shot(page, "billing-free")

    page.get_by_test_id("upgrade-pro").click()
    page.wait_for_url(f"{stack.stripe.url}/checkout/**")
    expect(page.get_by_role("heading", name="Checkout (test double)")).to_be_visible()
    expect(page.get_by_text("price_pro_flat, price_pro_metered")).to_be_visible()
    page.get_by_role("button", name="Pay and subscribe").click()

    page.wait_for_url(stack.url("/settings/billing/", team="billing-co"))
    expect(page.get_by_test_id("current-plan")).to_have_text("Pro")
    expect(page.get_by_text("Thank you! The team is now on the Pro plan.")).to_be_visible()
    expect(page.get_by_test_id("subscription-status")).to_have_text("Active")
    expect(page.get_by_test_id("invoice-row")).to_have_count(1)
    assert [status for _, status in stack.stripe.delivered] == [200, 200, 200]
    assert stack.sql("SELECT plan_code FROM tenants_team WHERE slug = 'billing-co'") == [("pro",)]
    _shot(page, "billing-pro")

    page.get_by_test_id("manage-billing").click()
    page.wait_for_url(f"{stack.stripe.url}/portal/**")
    page.get_by_role("link", name="Return").click()
    page.wait_for_url(stack.url("/settings/billing/", team="billing-co"))
    expect(page.get_by_test_id("current-plan")).to_have_text("Pro")


def test_cancelled_checkout_changes_nothing(page, stack):
    email = f"cancel-{int(time.time())}@example.com"
    stack.manage(
        "create_team",
        "--slug",
        "cancel-co",
        "--name",
        "Cancel Co",
        "--owner-email",
        email,
        "--owner-password",
        PASSWORD,
    )
    login(page, stack, email, PASSWORD)
    page.wait_for_url(re.compile(r"http://(cancel-co\.)?localhost:\d+/.*"))
    page.goto(stack.url("/settings/billing/", team="cancel-co"))

    page.get_by_test_id("upgrade-business").click()
    page.wait_for_url(f"{stack.stripe.url}/checkout/**")
    page.get_by_role("link", name="Cancel").click()

    page.wait_for_url(stack.url("/settings/billing/?checkout=cancelled", team="cancel-co"))
    expect(page.get_by_text("Checkout was cancelled; nothing was charged.")).to_be_visible()
    expect(page.get_by_test_id("current-plan")).to_have_text("Free")

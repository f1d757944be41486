"""Smoke: the apex and the demo team's pages load in a real browser against the running product."""

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"


def test_apex_page_loads_styled_with_working_scripts(page, stack):
    page.goto(stack.url("/"))

    assert page.title() == "Chat Studio"
    assert page.get_by_role("link", name="Create your team").is_visible()
    button = page.locator(".btn-primary").first
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") not in ("", "rgba(0, 0, 0, 0)")
    before = page.evaluate("document.documentElement.dataset.theme")
    page.get_by_role("button", name="Toggle dark mode").click()
    assert page.evaluate("document.documentElement.dataset.theme") != before


def test_demo_team_page_after_login_on_apex(page, stack):
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)

    page.wait_for_url(stack.url("/", team="demo"))
    assert page.get_by_test_id("team-name").inner_text() == "Demo team"
    assert page.get_by_test_id("team-home-title").is_visible()


def test_demo_team_page_logged_out_goes_to_apex_login_and_back(page, stack):
    page.goto(stack.url("/", team="demo"))

    page.wait_for_url("**/accounts/login/**")
    page.fill("input[name=login]", DEMO_EMAIL)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url(stack.url("/", team="demo"))
    assert page.get_by_test_id("team-name").is_visible()


def test_unknown_team_host_shows_clear_page(page, stack):
    response = page.goto(stack.url("/", team="nobody-here"))

    assert response.status == 404
    assert page.get_by_text("There is no team at this address").is_visible()

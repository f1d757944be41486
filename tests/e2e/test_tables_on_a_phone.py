"""Tables on a phone (components/_table.html): no page scrolls sideways, each row stacks with its column labels."""

import pytest

from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

DEMO_EMAIL, DEMO_PASSWORD = "demo@example.com", "demo-password-123"
PHONE = {"width": 390, "height": 844}


def test_list_pages_fit_a_phone_with_labelled_stacked_rows(browser, stack):
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(60_000)
    page = context.new_page()
    login(page, stack, DEMO_EMAIL, DEMO_PASSWORD)
    page.wait_for_url(stack.url("/", team="demo"))
    page.goto(stack.url("/members/invitations/", team="demo"))
    page.fill("input[name=email]", "someone-with-a-rather-long-address@example-company.com")
    page.click("[data-testid=invite-submit]")
    page.locator("[data-testid=invitation-row]").first.wait_for()
    page.goto(stack.url("/settings/api-keys/", team="demo"))
    page.fill("input[name=name]", "CI deploys")
    page.click("[data-testid=apikey-form] button[type=submit]")
    page.locator("[data-testid=apikey-row]").first.wait_for()

    for path, table, first_label in [
        ("/members/invitations/", "invitation-table", "Email"),
        ("/settings/api-keys/", "apikey-table", "Name"),
        ("/settings/audit/", "audit-table", "When"),
        ("/members/", "member-table", "Member"),
    ]:
        page.goto(stack.url(path, team="demo"))
        cell = page.get_by_test_id(table).locator("tbody td").first

        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        assert cell.evaluate("td => getComputedStyle(td, '::before').content") == f'"{first_label}"', path
        assert page.get_by_test_id(table).locator("thead").evaluate("el => el.offsetHeight <= 1"), path
    context.close()

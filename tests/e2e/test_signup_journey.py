"""The whole self-serve journey in Chromium: sign up on the apex, verify by email, watch the team being set up,
arrive on the team host, invite a colleague who signs up through the invitation, then remove them again."""

import re

import pytest

from tests.e2e.mailbox import wait_for_link

pytestmark = pytest.mark.e2e

FOUNDER, GUEST = "founder@journey.test", "guest@journey.test"
PASSWORD = "journey-pass-12345"


def test_signup_invite_accept_remove_journey(browser, stack):
    founder = browser.new_context(viewport={"width": 1280, "height": 860})
    founder.set_default_timeout(60_000)
    page = founder.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    setup_pages = []
    page.on("response", lambda r: setup_pages.append(r.status) if r.url == stack.url("/app/setup/journey/") else None)

    # Sign up on the apex: the subdomain is checked live while typing.
    page.goto(stack.url("/accounts/signup/"))
    page.fill("input[name=email]", FOUNDER)
    page.fill("input[name=organisation]", "Journey Co")
    page.fill("input[name=subdomain]", "www")
    page.get_by_test_id("subdomain-error").wait_for()
    assert "reserved" in page.get_by_test_id("subdomain-error").inner_text()
    page.fill("input[name=subdomain]", "journey")
    page.get_by_test_id("subdomain-ok").wait_for()
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.get_by_test_id("signup-submit").click()
    page.get_by_test_id("verification-sent").wait_for()

    # Open the verification link from the dev mailbox; confirming logs in and shows the setup page.
    link = wait_for_link(stack.mail_dir, to=FOUNDER, pattern=r"http://localhost:\d+/accounts/confirm-email/\S+/")
    page.goto(link)
    page.get_by_role("button", name="Confirm").click()

    # The setup page was shown, then the browser is handed to the team host, logged in.
    page.wait_for_url(stack.url("/", team="journey"))
    assert 200 in setup_pages
    assert page.get_by_test_id("team-name").inner_text() == "Journey Co"
    assert page.get_by_test_id("member-role").inner_text() == "Owner"

    # Invite a colleague as editor.
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_test_id("invite-people").click()
    page.fill("input[name=email]", GUEST)
    page.select_option("select[name=role]", "editor")
    page.get_by_test_id("invite-submit").click()
    page.locator(f'[data-testid=invitation-row][data-email="{GUEST}"]').wait_for()

    # The colleague accepts in a fresh browser: signs up through the invitation, no second verification.
    accept = wait_for_link(stack.mail_dir, to=GUEST, pattern=r"http://localhost:\d+/invitations/\S+/")
    guest = browser.new_context(viewport={"width": 1280, "height": 860})
    guest.set_default_timeout(60_000)
    guest_page = guest.new_page()
    guest_page.goto(accept)
    assert "Join Journey Co" in guest_page.get_by_test_id("invitation-card").inner_text()
    guest_page.get_by_test_id("invitation-signup").click()
    assert guest_page.input_value("input[name=email]") == GUEST
    guest_page.fill("input[name=password1]", PASSWORD)
    guest_page.fill("input[name=password2]", PASSWORD)
    guest_page.get_by_test_id("signup-submit").click()
    guest_page.wait_for_url(stack.url("/", team="journey"))
    assert guest_page.get_by_test_id("team-name").inner_text() == "Journey Co"
    assert guest_page.get_by_test_id("member-role").inner_text() == "Editor"

    # The founder sees them in the members list and removes them.
    page.get_by_role("link", name="Members", exact=True).click()
    row = page.locator(f'[data-testid=member-row][data-email="{GUEST}"]')
    assert "Editor" in row.locator("select option:checked").inner_text()
    row.get_by_test_id("member-remove").click()
    row.wait_for(state="detached")

    # They lose access at once.
    response = guest_page.reload()
    assert response.status == 404
    assert re.search(r"not found", guest_page.content(), re.I)

    guest.close()
    founder.close()

"""The billing page as owners and admins use it: plan, usage bars and chart, upgrade and portal redirects (plain
and htmx), spend caps (owners), invoices; and what it says with billing off."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from shared_apps.billing import services
from shared_apps.billing.enums import CapAction
from shared_apps.billing.metering import usage_writes
from shared_apps.billing.models import BillingAccount, ChatbotSpendCap, Invoice, Plan
from shared_apps.billing.snapshot import billing_changed
from shared_apps.core.prepared import write_together
from tenants.context import tenant_context
from tenants.enums import Role


def _chatbot(team, owner, name="Helper"):
    from tenant_apps.chatbots.services import chatbot_create

    with tenant_context(team):
        return chatbot_create(name=name, created_by=owner)


def test_with_billing_off_the_page_says_so_and_shows_usage(team_a, owner_a, client_for):
    bot = _chatbot(team_a, owner_a)
    now = timezone.now()
    period = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    write_together(
        *usage_writes(team_id=team_a.pk, chatbot_id=bot.pk, period_start=period, at=now, cost=Decimal("0.42"))
    )

    page = client_for(team_a, owner_a).get("/settings/billing/")

    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="billing-off"' in html
    assert "Billing is off on this installation." in html
    assert 'data-testid="current-plan">Unlimited<' in html
    assert "Upgrade to" not in html
    assert "· no limit" in html
    assert 'data-testid="usage-chart"' in html
    assert "$0.42" in html
    assert "Helper" in html  # per-chatbot caps table


def test_with_billing_on_the_page_shows_limits_as_progress_bars_and_plans(team_a, owner_a, billing_on, client_for):
    Plan.objects.filter(code="free").update(max_ai_messages=10)
    billing_changed()
    now = timezone.now()
    period = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(8):
        write_together(*usage_writes(team_id=team_a.pk, chatbot_id=1, period_start=period, at=now))

    html = client_for(team_a, owner_a).get("/settings/billing/").content.decode()

    assert 'data-testid="current-plan">Free<' in html
    assert 'value="80" max="100" aria-label="AI messages this period: 80 %"' in html
    assert "progress-warning" in html
    assert 'data-testid="upgrade-pro"' in html
    assert 'data-testid="upgrade-business"' in html
    assert 'data-testid="manage-billing"' not in html  # no Stripe customer yet


def test_upgrade_with_htmx_redirects_the_browser_to_checkout(team_a, owner_a, billing_on, client_for):
    response = client_for(team_a, owner_a).post("/settings/billing/checkout/", {"plan": "pro"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(billing_on.url + "/checkout/")


def test_an_unknown_plan_or_stripe_outage_is_a_clear_message_not_a_500(team_a, owner_a, billing_on, client_for):
    client = client_for(team_a, owner_a)

    unknown = client.post("/settings/billing/checkout/", {"plan": "platinum"}, follow=True)
    billing_on.fail_next("/v1/customers", status=503)
    outage = client.post("/settings/billing/checkout/", {"plan": "pro"}, follow=True)

    assert b"That plan can&#x27;t be bought." in unknown.content
    assert b"Stripe can&#x27;t be reached right now." in outage.content
    assert not BillingAccount.objects.filter(team=team_a, stripe_customer_id__isnull=False).exists()


def test_manage_billing_opens_the_portal_for_the_teams_customer(team_a, owner_a, billing_on, client_for):
    customer = services.customer_ensure(team=team_a)

    response = client_for(team_a, owner_a).post("/settings/billing/portal/")

    assert response.status_code == 303
    assert response["Location"].startswith(billing_on.url + "/portal/")
    form = billing_on.requests[-1].form
    assert form == {"customer": customer, "return_url": "http://alpha.localhost/settings/billing/"}


def test_owner_sets_spend_caps_with_htmx(team_a, owner_a, client_for):
    response = client_for(team_a, owner_a).post(
        "/settings/billing/spend-caps/",
        {"spend_cap": "25", "cap_action": CapAction.LIMIT_MESSAGE, "limit_message": "Back next month!"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert b"Spend caps saved." in response.content
    account = BillingAccount.objects.get(team=team_a)
    assert (account.spend_cap, account.limit_message) == (Decimal("25.00"), "Back next month!")


def test_bad_spend_cap_input_is_a_form_error(team_a, owner_a, client_for):
    client = client_for(team_a, owner_a)

    for value, message in (
        ("abc", b"Enter an amount such as 25 or 12.50."),
        ("-3", b"Enter an amount above 0"),
        ("1e99", b"Enter an amount above 0"),
    ):
        response = client.post(
            "/settings/billing/spend-caps/", {"spend_cap": value, "cap_action": "limit_message"}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        assert message in response.content
    missing = client.post(
        "/settings/billing/spend-caps/", {"spend_cap": "5", "cap_action": "fallback_model"}, HTTP_HX_REQUEST="true"
    )
    assert b"Choose the cheaper model to switch to." in missing.content
    assert not BillingAccount.objects.filter(team=team_a, spend_cap__isnull=False).exists()


def test_admins_see_spend_caps_but_only_owners_change_them(team_a, make_member, client_for):
    admin = client_for(team_a, make_member(team_a, Role.ADMIN))

    page = admin.get("/settings/billing/")

    assert b'data-testid="spend-cap-readonly"' in page.content
    assert (
        admin.post("/settings/billing/spend-caps/", {"spend_cap": "1", "cap_action": "limit_message"}).status_code
        == 404
    )


def test_owner_sets_and_clears_a_chatbot_cap(team_a, owner_a, client_for):
    bot = _chatbot(team_a, owner_a)
    client = client_for(team_a, owner_a)

    saved = client.post(f"/settings/billing/chatbot-caps/{bot.pk}/", {"cap": "3.5"}, HTTP_HX_REQUEST="true")
    assert b"Saved" in saved.content
    assert ChatbotSpendCap.objects.get(team=team_a, chatbot_id=bot.pk).cap == Decimal("3.50")
    bad = client.post(f"/settings/billing/chatbot-caps/{bot.pk}/", {"cap": "lots"}, HTTP_HX_REQUEST="true")
    assert b'role="alert"' in bad.content
    cleared = client.post(f"/settings/billing/chatbot-caps/{bot.pk}/", {"cap": ""}, HTTP_HX_REQUEST="true")

    assert cleared.status_code == 200
    assert not ChatbotSpendCap.objects.filter(team=team_a).exists()


def test_a_chatbot_of_another_team_cannot_get_a_cap(team_a, team_b, owner_a, make_member, client_for):
    other_bot = _chatbot(team_b, make_member(team_b))

    response = client_for(team_a, owner_a).post(
        f"/settings/billing/chatbot-caps/{other_bot.pk}/", {"cap": "1"}, follow=True
    )

    assert b"That chatbot doesn&#x27;t exist in this team." in response.content
    assert not ChatbotSpendCap.objects.exists()


def test_invoices_are_listed_newest_first_and_paginated(team_a, owner_a, client_for):
    now = timezone.now()
    for index in range(14):
        Invoice.objects.create(
            team=team_a,
            stripe_invoice_id=f"in_{index}",
            number=f"INV-{index:02d}",
            status="paid",
            amount_due=2900,
            amount_paid=2900,
            created=now - timedelta(days=index),
        )
    client = client_for(team_a, owner_a)

    first = client.get("/settings/billing/").content.decode()
    second = client.get("/settings/billing/invoices/?page=2", HTTP_HX_REQUEST="true").content.decode()

    assert first.count('data-testid="invoice-row"') == 12
    assert first.index("INV-00") < first.index("INV-01")
    assert "$29.00" in first
    assert second.count('data-testid="invoice-row"') == 2
    assert client.get("/settings/billing/invoices/?page=999").status_code == 200


def test_the_settings_tabs_link_to_billing(team_a, owner_a, client_for):
    assert b'href="/settings/billing/"' in client_for(team_a, owner_a).get("/settings/").content


def test_the_current_plan_is_not_offered_as_an_upgrade(team_a, owner_a, billing_on, client_for):
    services.plan_set(team=team_a, plan_code="pro")

    html = client_for(team_a, owner_a).get("/settings/billing/").content.decode()

    assert 'data-testid="upgrade-pro"' not in html
    assert 'data-testid="upgrade-business"' in html


def test_looking_at_the_page_writes_nothing(team_a, owner_a, client_for):
    client_for(team_a, owner_a).get("/settings/billing/")

    assert not BillingAccount.objects.filter(team=team_a).exists()

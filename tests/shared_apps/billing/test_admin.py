"""Staff edit plans in the admin; saving one updates every process's cached limits."""

from shared_apps.billing.models import Plan
from shared_apps.billing.snapshot import team_billing


def test_staff_edit_a_plans_limits_and_see_its_stripe_prices(team_a, apex_client, make_user, billing_on):
    staff = make_user(is_staff=True, is_superuser=True)
    apex_client.force_login(staff)
    free = Plan.objects.get(code="free")
    assert team_billing(team_a.pk).limits.chatbots == free.max_chatbots

    listing = apex_client.get("/django-admin/billing/plan/")
    form = apex_client.get(f"/django-admin/billing/plan/{free.pk}/change/")
    saved = apex_client.post(
        f"/django-admin/billing/plan/{free.pk}/change/",
        {
            "code": "free",
            "name": "Free",
            "description": "",
            "price_monthly": "0",
            "max_chatbots": "7",
            "max_members": "3",
            "max_channels": "",
            "max_ai_messages": "500",
            "max_concurrent_turns": "2",
            "is_default": "on",
            "sort_order": "10",
        },
    )

    assert (listing.status_code, form.status_code, saved.status_code) == (200, 200, 302)
    assert "price_pro_flat + price_pro_metered" in listing.content.decode()
    assert (team_billing(team_a.pk).limits.chatbots, team_billing(team_a.pk).limits.channels) == (7, None)

"""Spend at 80 % of a cap: owners are emailed once per period, and owners see a banner."""

from decimal import Decimal

from django.core import mail
from django.utils import timezone

from shared_apps.billing import services
from shared_apps.billing.alerts import spend_alerts_send
from shared_apps.billing.enforcement import turn_period
from shared_apps.billing.enums import CapAction
from shared_apps.billing.metering import usage_writes
from shared_apps.core.prepared import write_together
from tenants.context import tenant_context
from tenants.enums import Role


def _spend(team, cost, chatbot_id=1):
    period = turn_period(team_id=team.pk)
    write_together(
        *usage_writes(
            team_id=team.pk, chatbot_id=chatbot_id, period_start=period, at=timezone.now(), cost=Decimal(cost)
        )
    )


def test_owners_are_emailed_once_when_the_team_reaches_80_percent(
    team_a, owner_a, make_member, django_capture_on_commit_callbacks
):
    make_member(team_a, Role.ADMIN, email="admin@example.com")
    services.spend_caps_update(team=team_a, actor=owner_a, spend_cap=Decimal("10"), cap_action=CapAction.LIMIT_MESSAGE)
    _spend(team_a, "7.99")

    with django_capture_on_commit_callbacks(execute=True):
        assert spend_alerts_send() == 0
        _spend(team_a, "0.01")
        assert spend_alerts_send() == 1
        assert spend_alerts_send() == 0
        _spend(team_a, "5")
        assert spend_alerts_send() == 0

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner-a@example.com"]
    assert message.subject == "Alpha reached 80 % of its monthly model-spend cap"
    assert "$8.00" in message.body
    assert "$10.00" in message.body
    assert "http://alpha.localhost/settings/billing/" in message.body


def test_a_chatbot_cap_alert_names_the_chatbot(team_a, owner_a, django_capture_on_commit_callbacks):
    from tenant_apps.chatbots.services import chatbot_create

    with tenant_context(team_a):
        bot = chatbot_create(name="Support bot", created_by=owner_a)
    services.chatbot_cap_set(team=team_a, actor=owner_a, chatbot_id=bot.pk, cap=Decimal("1"))
    _spend(team_a, "0.9", chatbot_id=bot.pk)

    with django_capture_on_commit_callbacks(execute=True):
        assert spend_alerts_send() == 1

    assert mail.outbox[0].subject == "Support bot reached 90 % of its monthly model-spend cap"


def test_owners_see_a_banner_at_80_percent_and_others_do_not(team_a, owner_a, make_member, client_for):
    services.spend_caps_update(team=team_a, actor=owner_a, spend_cap=Decimal("1"), cap_action=CapAction.LIMIT_MESSAGE)
    _spend(team_a, "0.85")
    editor = make_member(team_a, Role.EDITOR)

    owner_home = client_for(team_a, owner_a).get("/").content
    editor_home = client_for(team_a, editor).get("/").content

    assert b"Model spend is at 85 % of this month&#x27;s cap." in owner_home
    assert b'data-testid="billing-banner"' not in editor_home

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from shared_apps.billing.models import BillingAccount
from tenants.models import Team


def test_set_plan_puts_a_team_on_a_plan(team_a):
    out = StringIO()

    call_command("set_plan", "--team", "alpha", "--plan", "pro", stdout=out)

    assert out.getvalue().strip() == "alpha is now on the Pro plan."
    assert Team.objects.get(pk=team_a.pk).plan_code == "pro"
    assert BillingAccount.objects.get(team=team_a).plan.code == "pro"


@pytest.mark.parametrize(
    ("team", "plan", "message"), [("nobody", "pro", "There is no team"), ("alpha", "gold", "There is no plan")]
)
def test_set_plan_refuses_unknown_names(team_a, team, plan, message):
    with pytest.raises(CommandError, match=message):
        call_command("set_plan", "--team", team, "--plan", plan)

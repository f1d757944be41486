from tenant_apps.audit.selectors import audit_event_list
from tenant_apps.audit.services import audit_record
from tests.factories.accounts import UserFactory
from tests.factories.tenants import MembershipFactory


def test_audit_record_keeps_actor_and_target_labels(team):
    user = UserFactory.create(email="boss@example.com")
    membership = MembershipFactory.create(team=team, user=user)

    event = audit_record(actor=user, action="member.role_changed", target=membership, data={"to": "admin"})

    assert event.actor_label == "boss@example.com"
    assert event.target_type == "tenants.membership"
    assert event.target_id == str(membership.pk)
    assert list(audit_event_list(action_prefix="member.")) == [event]


def test_audit_events_stay_in_their_team(team, team_b):
    audit_record(actor=None, action="team.renamed")

    from tenants.context import tenant_context

    with tenant_context(team_b):
        assert not audit_event_list(action_prefix="team.").exists()

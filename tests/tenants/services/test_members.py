import pytest

from tenant_apps.audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.enums import Role
from tenants.exceptions import MembershipError, PermissionDeniedError
from tenants.models import Membership
from tenants.services.members import membership_remove, membership_role_change


def _m(user, team):
    return Membership.objects.get(user=user, team=team)


def test_membership_role_change_by_admin_updates_and_audits(team_a, make_member):
    admin = make_member(team_a, Role.ADMIN, email="admin@example.com")
    editor = make_member(team_a, Role.EDITOR, email="ed@example.com")

    membership_role_change(membership=_m(editor, team_a), role=Role.VIEWER, actor=admin)

    assert _m(editor, team_a).role == Role.VIEWER
    with tenant_context(team_a):
        event = AuditEvent.objects.get(action="member.role_changed")
    assert event.data == {"user": "ed@example.com", "from": "editor", "to": "viewer"}
    assert event.actor_label == "admin@example.com"


@pytest.mark.parametrize("actor_role", [Role.EDITOR, Role.VIEWER])
def test_membership_role_change_below_admin_is_refused(team_a, make_member, actor_role):
    actor = make_member(team_a, actor_role)
    target = make_member(team_a, Role.VIEWER)

    with pytest.raises(PermissionDeniedError):
        membership_role_change(membership=_m(target, team_a), role=Role.EDITOR, actor=actor)


def test_membership_role_change_admin_cannot_grant_or_touch_owner(team_a, make_member):
    admin = make_member(team_a, Role.ADMIN)
    owner = make_member(team_a, Role.OWNER)
    editor = make_member(team_a, Role.EDITOR)

    with pytest.raises(PermissionDeniedError, match="Only an owner"):
        membership_role_change(membership=_m(editor, team_a), role=Role.OWNER, actor=admin)
    with pytest.raises(PermissionDeniedError, match="Only an owner"):
        membership_role_change(membership=_m(owner, team_a), role=Role.ADMIN, actor=admin)


def test_membership_role_change_owner_can_promote_to_owner(team_a, make_member):
    owner = make_member(team_a, Role.OWNER)
    editor = make_member(team_a, Role.EDITOR)

    membership_role_change(membership=_m(editor, team_a), role=Role.OWNER, actor=owner)

    assert _m(editor, team_a).role == Role.OWNER


def test_membership_role_change_last_owner_cannot_be_demoted(team_a, make_member):
    owner = make_member(team_a, Role.OWNER)

    with pytest.raises(MembershipError) as excinfo:
        membership_role_change(membership=_m(owner, team_a), role=Role.ADMIN, actor=owner)

    assert excinfo.value.code == "member.last_owner"
    assert _m(owner, team_a).role == Role.OWNER


def test_membership_role_change_owner_demotes_self_when_another_owner_exists(team_a, make_member):
    owner = make_member(team_a, Role.OWNER)
    make_member(team_a, Role.OWNER)

    membership_role_change(membership=_m(owner, team_a), role=Role.ADMIN, actor=owner)

    assert _m(owner, team_a).role == Role.ADMIN


def test_membership_remove_by_admin_removes_and_audits(team_a, make_member):
    admin = make_member(team_a, Role.ADMIN)
    viewer = make_member(team_a, Role.VIEWER, email="v@example.com")

    membership_remove(membership=_m(viewer, team_a), actor=admin)

    assert not Membership.objects.filter(user=viewer, team=team_a).exists()
    with tenant_context(team_a):
        assert AuditEvent.objects.get(action="member.removed").data == {"user": "v@example.com", "role": "viewer"}


def test_membership_remove_last_owner_is_refused(team_a, make_member):
    owner = make_member(team_a, Role.OWNER)
    other_owner_actor = make_member(team_a, Role.ADMIN)

    with pytest.raises(PermissionDeniedError):
        membership_remove(membership=_m(owner, team_a), actor=other_owner_actor)
    with pytest.raises(MembershipError, match="last owner"):
        membership_remove(membership=_m(owner, team_a), actor=owner)


def test_membership_remove_owner_by_other_owner(team_a, make_member):
    owner = make_member(team_a, Role.OWNER)
    second = make_member(team_a, Role.OWNER)

    membership_remove(membership=_m(second, team_a), actor=owner)

    assert not Membership.objects.filter(user=second, team=team_a).exists()


def test_membership_remove_self_is_leaving(team_a, make_member):
    make_member(team_a, Role.OWNER)
    viewer = make_member(team_a, Role.VIEWER)

    membership_remove(membership=_m(viewer, team_a), actor=viewer)

    assert not Membership.objects.filter(user=viewer, team=team_a).exists()
    with tenant_context(team_a):
        assert AuditEvent.objects.filter(action="member.left").exists()


def test_membership_remove_by_editor_is_refused(team_a, make_member):
    editor = make_member(team_a, Role.EDITOR)
    viewer = make_member(team_a, Role.VIEWER)

    with pytest.raises(PermissionDeniedError):
        membership_remove(membership=_m(viewer, team_a), actor=editor)

import re
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from tenant_apps.audit.models import AuditEvent
from tenants.context import tenant_context
from tenants.enums import Role
from tenants.exceptions import InvitationError, PermissionDeniedError, RateLimitedError
from tenants.models import Invitation, Membership
from tenants.selectors import invitation_get_by_token
from tenants.services.invitations import invitation_accept, invitation_create, invitation_resend, invitation_revoke


def _token_from(message) -> str:
    return re.search(r"/invitations/([\w-]+)/", message.body).group(1)


@pytest.fixture
def admin(team_a, make_member):
    return make_member(team_a, Role.ADMIN, email="admin@example.com")


@pytest.fixture
def invite(team_a, admin, django_capture_on_commit_callbacks, mailoutbox):
    """Create an invitation and return (invitation, raw token from the email)."""

    def make(email="new@example.com", role=Role.EDITOR, by=None):
        with django_capture_on_commit_callbacks(execute=True):
            invitation = invitation_create(team=team_a, email=email, role=role, invited_by=by or admin)
        return invitation, _token_from(mailoutbox[-1])

    return make


def test_invitation_email_is_branded_with_the_product_and_the_team(invite, mailoutbox, team_a):
    invite("new@example.com")

    email = mailoutbox[-1]
    html, _ = email.alternatives[0]
    assert "on Chat Studio" in email.subject
    assert "Chat Studio" in html
    assert f"· {team_a.name}" in html  # the header names the team
    assert f"for the team {team_a.name}" in html


def test_invitation_create_emails_an_apex_accept_link_and_stores_only_a_hash(invite, mailoutbox, team_a):
    invitation, token = invite(email="  New@Example.com ")

    assert invitation.email == "new@example.com"
    assert mailoutbox[-1].to == ["new@example.com"]
    assert f"http://localhost/invitations/{token}/" in mailoutbox[-1].body
    assert "Alpha" in mailoutbox[-1].subject
    assert token not in invitation.token_hash
    assert invitation_get_by_token(token=token) == invitation
    assert invitation.expires_at > timezone.now() + timedelta(days=6)


def test_invitation_create_is_audited_in_the_team(invite, team_a):
    invite()

    with tenant_context(team_a):
        event = AuditEvent.objects.get(action="invitation.created")
    assert event.actor_label == "admin@example.com"
    assert event.data == {"email": "new@example.com", "role": "editor"}


def test_invitation_create_sends_nothing_when_the_transaction_rolls_back(team_a, admin, mailoutbox):
    invitation_create(team=team_a, email="new@example.com", role=Role.VIEWER, invited_by=admin)  # never commits

    assert mailoutbox == []


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_invitation_create_by_non_admin_is_refused(team_a, make_member, role):
    user = make_member(team_a, role)

    with pytest.raises(PermissionDeniedError) as excinfo:
        invitation_create(team=team_a, email="x@example.com", role=Role.VIEWER, invited_by=user)

    assert excinfo.value.code == "invitation.forbidden"


def test_invitation_create_of_owner_needs_an_owner(team_a, admin, make_member):
    with pytest.raises(PermissionDeniedError, match="Only an owner"):
        invitation_create(team=team_a, email="x@example.com", role=Role.OWNER, invited_by=admin)

    owner = make_member(team_a, Role.OWNER)
    assert invitation_create(team=team_a, email="x@example.com", role=Role.OWNER, invited_by=owner).role == Role.OWNER


def test_invitation_create_for_existing_member_is_refused(team_a, admin, make_member):
    make_member(team_a, Role.VIEWER, email="member@example.com")

    with pytest.raises(InvitationError) as excinfo:
        invitation_create(team=team_a, email="MEMBER@example.com", role=Role.EDITOR, invited_by=admin)

    assert excinfo.value.code == "invitation.already_member"


def test_invitation_create_twice_for_pending_email_is_refused(invite, team_a, admin):
    invite()

    with pytest.raises(InvitationError) as excinfo:
        invitation_create(team=team_a, email="new@example.com", role=Role.EDITOR, invited_by=admin)

    assert excinfo.value.code == "invitation.already_invited"


def test_invitation_create_replaces_an_expired_one(invite, team_a, admin):
    old, _ = invite()
    Invitation.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    new = invitation_create(team=team_a, email="new@example.com", role=Role.VIEWER, invited_by=admin)

    old.refresh_from_db()
    assert old.revoked_at is not None
    assert new.state == "pending"


def test_invitation_create_rejects_bad_email(team_a, admin):
    with pytest.raises(InvitationError) as excinfo:
        invitation_create(team=team_a, email="not-an-email", role=Role.EDITOR, invited_by=admin)

    assert excinfo.value.code == "invitation.bad_email"


def test_invitation_create_is_rate_limited_per_inviter(team_a, admin, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "invitation.create.user": "2/600"}
    for n in range(2):
        invitation_create(team=team_a, email=f"p{n}@example.com", role=Role.VIEWER, invited_by=admin)

    with pytest.raises(RateLimitedError):
        invitation_create(team=team_a, email="p3@example.com", role=Role.VIEWER, invited_by=admin)


def test_invitation_resend_issues_new_link_and_expiry(invite, admin, mailoutbox, django_capture_on_commit_callbacks):
    invitation, old_token = invite()
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() + timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        invitation_resend(invitation=invitation, actor=admin)

    new_token = _token_from(mailoutbox[-1])
    invitation.refresh_from_db()
    assert new_token != old_token
    assert invitation_get_by_token(token=old_token) is None
    assert invitation_get_by_token(token=new_token) == invitation
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    assert invitation.send_count == 2


def test_invitation_resend_of_revoked_is_refused(invite, admin):
    invitation, _ = invite()
    invitation_revoke(invitation=invitation, actor=admin)

    with pytest.raises(InvitationError, match="already accepted or revoked"):
        invitation_resend(invitation=invitation, actor=admin)


def test_invitation_resend_is_rate_limited(invite, admin, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "invitation.resend": "1/600"}
    invitation, _ = invite()
    invitation_resend(invitation=invitation, actor=admin)

    with pytest.raises(RateLimitedError):
        invitation_resend(invitation=invitation, actor=admin)


def test_invitation_revoke_closes_it_and_is_audited(invite, admin, team_a):
    invitation, _token = invite()

    invitation_revoke(invitation=invitation, actor=admin)
    invitation_revoke(invitation=invitation, actor=admin)  # idempotent

    invitation.refresh_from_db()
    assert invitation.state == "revoked"
    with tenant_context(team_a):
        assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1


def test_invitation_accept_adds_membership_with_the_role(invite, make_user, team_a):
    invitation, _ = invite(role=Role.EDITOR)
    user = make_user(email="new@example.com")

    membership = invitation_accept(invitation=invitation, user=user)

    invitation.refresh_from_db()
    assert membership.role == Role.EDITOR
    assert invitation.accepted_by == user
    assert invitation.state == "accepted"
    with tenant_context(team_a):
        assert AuditEvent.objects.filter(action="invitation.accepted").exists()


def test_invitation_accept_twice_by_same_user_is_idempotent(invite, make_user):
    invitation, _ = invite()
    user = make_user(email="new@example.com")

    first = invitation_accept(invitation=invitation, user=user)
    second = invitation_accept(invitation=invitation, user=user)

    assert first.pk == second.pk
    assert Membership.objects.filter(user=user).count() == 1


def test_invitation_accept_by_a_second_user_is_refused(invite, make_user):
    invitation, _ = invite()
    invitation_accept(invitation=invitation, user=make_user(email="new@example.com"))
    other = make_user(email="other@example.com")

    with pytest.raises(InvitationError) as excinfo:
        invitation_accept(invitation=invitation, user=other)

    assert excinfo.value.code == "invitation.used"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        pytest.param({"expires_at": timezone.now() - timedelta(seconds=1)}, "invitation.expired", id="expired"),
        pytest.param({"revoked_at": timezone.now()}, "invitation.revoked", id="revoked"),
    ],
)
def test_invitation_accept_of_closed_invitation_is_refused(invite, make_user, change, code):
    invitation, _ = invite()
    Invitation.objects.filter(pk=invitation.pk).update(**change)

    with pytest.raises(InvitationError) as excinfo:
        invitation_accept(invitation=invitation, user=make_user(email="new@example.com"))

    assert excinfo.value.code == code


def test_invitation_accept_needs_the_invited_verified_address(invite, make_user):
    invitation, _ = invite()
    user = make_user(email="someone-else@example.com")

    with pytest.raises(PermissionDeniedError) as excinfo:
        invitation_accept(invitation=invitation, user=user)

    assert excinfo.value.code == "invitation.wrong_account"


def test_invitation_accept_with_unverified_address_is_refused(invite, make_user):
    from allauth.account.models import EmailAddress

    invitation, _ = invite()
    user = make_user(email="new@example.com")
    EmailAddress.objects.filter(user=user).update(verified=False)

    with pytest.raises(PermissionDeniedError):
        invitation_accept(invitation=invitation, user=user)


def test_invitation_accept_by_existing_member_keeps_their_role(invite, team_a, make_user):
    invitation, _ = invite(role=Role.VIEWER)
    user = make_user(email="new@example.com")
    Membership.objects.create(user=user, team=team_a, role=Role.ADMIN)

    membership = invitation_accept(invitation=invitation, user=user)

    assert membership.role == Role.ADMIN
    assert Membership.objects.filter(user=user, team=team_a).count() == 1


@pytest.fixture
def committed_invitation(committed, committed_team_a):
    team_a = committed_team_a
    """An invitation and its invitee, committed (for concurrent accepts on separate connections)."""
    from shared_apps.accounts.services import user_get_or_create

    user = user_get_or_create(email="racer@example.com", password="a-strong-pass-123")
    admin = user_get_or_create(email="race-admin@example.com", password="a-strong-pass-123")
    Membership.objects.get_or_create(user=admin, team=team_a, defaults={"role": Role.OWNER})
    invitation = invitation_create(team=team_a, email="racer@example.com", role=Role.EDITOR, invited_by=admin)
    yield invitation, user
    Membership.objects.filter(team=team_a, user__in=[user, admin]).delete()
    Invitation.objects.filter(pk=invitation.pk).delete()
    with tenant_context(team_a):
        AuditEvent.objects.filter(action__startswith="invitation.").delete()
    user.delete()
    admin.delete()


@pytest.fixture
def committed_team_a(committed):
    from tenants.models import Team

    return Team.objects.get(slug="alpha")


def test_invitation_accept_raced_on_two_connections_adds_one_membership(committed_invitation, committed_team_a):
    invitation, user = committed_invitation
    barrier = threading.Barrier(2)
    results, errors = [], []

    def accept():
        try:
            barrier.wait(timeout=10)
            results.append(invitation_accept(invitation=invitation, user=user).pk)
        except Exception as exc:  # recorded for the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(set(results)) == 1
    assert Membership.objects.filter(user=user, team=committed_team_a).count() == 1
    connection.set_schema_to_public()


def test_invitation_subject_and_text_are_plain_text_and_the_html_part_is_escaped(invite, mailoutbox, team_a):
    from tenants.models import Team

    Team.objects.filter(pk=team_a.pk).update(name='Acme "><b> & Co')

    invite()

    message = mailoutbox[-1]
    assert 'join Acme "><b> & Co on' in message.subject
    assert 'join Acme "><b> & Co on' in message.body
    assert "&quot;" not in message.subject + message.body
    html = message.alternatives[0][0]
    assert "Acme &quot;&gt;&lt;b&gt; &amp; Co" in html

"""The accept link (apex): new users sign up through it, existing users accept after login."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from tenants.enums import Role
from tenants.models import Invitation, Membership
from tenants.services.invitations import invitation_accept, invitation_create, invitation_revoke

User = get_user_model()
PASSWORD = "a-strong-pass-123"


@pytest.fixture
def invitation_link(team_a, make_member, mailoutbox, django_capture_on_commit_callbacks):
    owner = make_member(team_a, Role.OWNER, email="owner@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        invitation = invitation_create(team=team_a, email="guest@example.com", role=Role.EDITOR, invited_by=owner)
    path = urlparse(re.search(r"http://localhost/invitations/\S+/", mailoutbox[-1].body).group(0)).path
    return invitation, path


def test_invitation_page_for_visitor_offers_signup_and_login(apex_client, invitation_link):
    _invitation, path = invitation_link

    response = apex_client.get(path)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Join Alpha" in html
    assert "guest@example.com" in html
    assert 'data-testid="invitation-signup"' in html
    assert 'data-testid="invitation-login"' in html


def _without_csrf(html):
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[\w-]+', "", html)


def test_invitation_page_does_not_reveal_whether_the_address_has_an_account(apex_client, invitation_link, make_user):
    _invitation, path = invitation_link
    before = apex_client.get(path).content.decode()

    make_user(email="guest@example.com")
    after = apex_client.get(path).content.decode()

    assert _without_csrf(before) == _without_csrf(after)


def test_signup_through_invitation_joins_team_without_second_verification(
    apex_client, client_for, invitation_link, team_a
):
    _invitation, path = invitation_link
    apex_client.get(path)

    form = apex_client.get("/accounts/signup/")
    response = apex_client.post(
        "/accounts/signup/", {"email": "guest@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )

    user = User.objects.get(email="guest@example.com")
    assert b'value="guest@example.com"' in form.content
    assert b'name="subdomain"' not in form.content
    assert EmailAddress.objects.get(user=user).verified
    assert Membership.objects.get(user=user, team=team_a).role == Role.EDITOR
    assert response["Location"] == "/go/alpha/"
    handoff = urlparse(apex_client.get("/go/alpha/")["Location"])
    team_client = client_for(team_a)
    landed = team_client.get(f"{handoff.path}?{handoff.query}")
    home = team_client.get(landed["Location"])
    assert b'data-testid="member-role">Editor' in home.content


def test_signup_through_invitation_with_another_email_is_refused(apex_client, invitation_link):
    _invitation, path = invitation_link
    apex_client.get(path)

    response = apex_client.post(
        "/accounts/signup/", {"email": "other@example.com", "password1": PASSWORD, "password2": PASSWORD}
    )

    assert response.status_code == 200
    assert b"This invitation is for guest@example.com" in response.content
    assert not User.objects.filter(email="other@example.com").exists()


def test_signup_without_the_invitation_goes_back_to_team_signup(apex_client, invitation_link):
    _invitation, path = invitation_link
    apex_client.get(path)

    response = apex_client.get("/accounts/signup/?invitation=none")

    assert b'name="subdomain"' in response.content
    assert "invitation_token" not in apex_client.session


def test_existing_user_accepts_after_login(apex_client, invitation_link, make_user, team_a):
    _invitation, path = invitation_link
    user = make_user(email="guest@example.com", password=PASSWORD)
    login_url = re.search(r'href="(/accounts/login/\?next=[^"]+)"', apex_client.get(path).content.decode()).group(1)

    after_login = apex_client.post(login_url, {"login": "guest@example.com", "password": PASSWORD})
    page = apex_client.get(after_login["Location"])
    accepted = apex_client.post(path)

    assert after_login["Location"] == path
    assert b'data-testid="invitation-accept"' in page.content
    assert accepted["Location"] == "/go/alpha/"
    assert Membership.objects.get(user=user, team=team_a).role == Role.EDITOR


def test_logged_in_user_with_another_address_cannot_accept(apex_client, invitation_link, make_user):
    invitation, path = invitation_link
    apex_client.force_login(make_user(email="someone@example.com"))

    page = apex_client.get(path)
    refused = apex_client.post(path)

    assert b"this invitation was sent to guest@example.com" in page.content
    assert refused.status_code == 403
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_used_link_by_the_same_user_goes_to_the_team(apex_client, invitation_link, make_user):
    invitation, path = invitation_link
    user = make_user(email="guest@example.com")
    invitation_accept(invitation=invitation, user=user)
    apex_client.force_login(user)

    assert apex_client.get(path)["Location"] == "/go/alpha/"


@pytest.mark.parametrize("state", ["expired", "revoked", "accepted"])
def test_closed_invitation_explains_itself(apex_client, invitation_link, make_user, state):
    invitation, path = invitation_link
    if state == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "revoked":
        invitation_revoke(invitation=invitation, actor=None)
    else:
        invitation_accept(invitation=invitation, user=make_user(email="guest@example.com"))

    response = apex_client.get(path)

    assert response.status_code == 410
    assert {"expired": b"has expired", "revoked": b"was withdrawn", "accepted": b"already been used"}[
        state
    ] in response.content


def test_unknown_invitation_link_is_404(apex_client, db):
    response = apex_client.get("/invitations/not-a-real-token/")

    assert response.status_code == 404
    assert b"not valid" in response.content


def test_invitation_links_are_rate_limited_per_ip(apex_client, rate_limits_on, settings, db):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "invitation.accept": "3/600"}
    for _ in range(3):
        apex_client.get("/invitations/guess/")

    assert apex_client.get("/invitations/guess/").status_code == 429


def test_pending_invitation_shows_on_the_team_picker(apex_client, invitation_link, make_user):
    apex_client.force_login(make_user(email="guest@example.com"))

    response = apex_client.get("/app/teams/")

    assert b'data-testid="invitation-list"' in response.content
    assert b"Invited as editor" in response.content

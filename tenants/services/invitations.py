"""Invitations: invite by email, resend, revoke, accept (docs/adr/0011-invitations.md)."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.core.mail import render_subject, render_text
from shared_apps.core.ratelimit import rate_limit_enforce
from tenants.audit import team_audit
from tenants.enums import Role, TeamStatus
from tenants.exceptions import InvitationError, PermissionDeniedError
from tenants.models import Invitation, Membership, Team, invitation_token_hash
from tenants.selectors import user_owns_email
from tenants.services.guards import role_of, team_checks_run, team_lock
from tenants.urls import apex_url, public_reverse

logger = logging.getLogger(__name__)


def _email_normalise(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvitationError(code="invitation.bad_email", message="Enter a valid email address.") from exc
    return email


def _invitation_new_token(invitation: Invitation) -> str:
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    invitation.token_hash = invitation_token_hash(token)
    invitation.expires_at = now + timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    invitation.sent_at = now
    invitation.send_count += 1
    return token


@transaction.atomic
def invitation_create(*, team: Team, email: str, role: Role, invited_by: User) -> Invitation:
    """Invite ``email`` to ``team`` with ``role`` and email them an accept link (after commit)."""
    email = _email_normalise(email)
    role = Role(role)
    actor_role = role_of(user=invited_by, team=team)
    if actor_role is None or not actor_role.at_least(Role.ADMIN):
        raise PermissionDeniedError(code="invitation.forbidden", message="Only admins can invite people.")
    if role == Role.OWNER and actor_role != Role.OWNER:
        raise PermissionDeniedError(code="invitation.owner_only", message="Only an owner can invite an owner.")
    rate_limit_enforce(scope="invitation.create.team", ident=str(team.pk))
    rate_limit_enforce(scope="invitation.create.user", ident=str(invited_by.pk))
    team = team_lock(team)
    team_checks_run(settings.TEAM_MEMBER_ADD_CHECKS, team=team)
    if Membership.objects.filter(team=team, user__email__iexact=email).exists():
        raise InvitationError(code="invitation.already_member", message=f"{email} is already a member of this team.")
    existing = Invitation.objects.open().filter(team=team, email=email).first()
    if existing is not None:
        if not existing.is_expired:
            raise InvitationError(
                code="invitation.already_invited",
                message=f"{email} already has a pending invitation. Resend it or revoke it first.",
            )
        existing.revoked_at = timezone.now()  # an expired invitation is retired by the new one
        existing.save(update_fields=["revoked_at"])
    invitation = Invitation(team=team, email=email, role=role, invited_by=invited_by)
    token = _invitation_new_token(invitation)
    invitation.save()
    team_audit(
        team=team, actor=invited_by, action="invitation.created", target=invitation, data={"email": email, "role": role}
    )
    logger.info("invitation.created", extra={"team": team.slug, "invitation": invitation.pk})
    invitation_id = invitation.pk
    transaction.on_commit(lambda: invitation_email_send(invitation_id=invitation_id, token=token))
    return invitation


def _locked(invitation: Invitation) -> Invitation:
    return Invitation.objects.select_for_update().select_related("team").get(pk=invitation.pk)


def _audit(invitation: Invitation, *, actor: User, action: str) -> None:
    data = {"email": invitation.email, "role": invitation.role}
    team_audit(team=invitation.team, actor=actor, action=action, target=invitation, data=data)


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: User) -> Invitation:
    """Send a fresh link (new token, new expiry); the previous link stops working."""
    invitation = _locked(invitation)
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationError(code="invitation.closed", message="This invitation was already accepted or revoked.")
    rate_limit_enforce(scope="invitation.resend", ident=str(invitation.pk))
    rate_limit_enforce(scope="invitation.create.team", ident=str(invitation.team_id))
    token = _invitation_new_token(invitation)
    invitation.save(update_fields=["token_hash", "expires_at", "sent_at", "send_count"])
    _audit(invitation, actor=actor, action="invitation.resent")
    invitation_id = invitation.pk
    transaction.on_commit(lambda: invitation_email_send(invitation_id=invitation_id, token=token))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    invitation = _locked(invitation)
    if invitation.accepted_at:
        raise InvitationError(code="invitation.accepted", message="This invitation was already accepted.")
    if invitation.revoked_at:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    _audit(invitation, actor=actor, action="invitation.revoked")
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the team. Idempotent for the same user; adds the membership exactly once even when raced.

    The row lock serialises concurrent accepts of one invitation; the (user, team) unique constraint is the
    backstop when the user joins the same team through two invitations at once. A user who is already a member
    keeps their role. The accepting user must own the invited address (verified).
    """
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("team").get(pk=invitation.pk)
    team = invitation.team
    if invitation.accepted_at is not None:
        existing = Membership.objects.filter(team=team, user=user).first()
        if invitation.accepted_by_id == user.pk and existing is not None:
            return existing
        raise InvitationError(code="invitation.used", message="This invitation has already been used.")
    if invitation.revoked_at is not None:
        raise InvitationError(
            code="invitation.revoked", message="This invitation was withdrawn. Ask the team for a new one."
        )
    if invitation.is_expired:
        raise InvitationError(
            code="invitation.expired", message="This invitation has expired. Ask the team to send a new one."
        )
    if team.status != TeamStatus.ACTIVE:
        raise InvitationError(code="invitation.team_unavailable", message="This team is not available.")
    if not user_owns_email(user_id=user.pk, email=invitation.email):
        raise PermissionDeniedError(
            code="invitation.wrong_account",
            message=f"This invitation was sent to {invitation.email}. Log in with that address to accept it.",
        )
    try:
        with transaction.atomic():
            membership, created = Membership.objects.get_or_create(
                user=user, team=team, defaults={"role": invitation.role}
            )
    except IntegrityError:
        membership, created = Membership.objects.get(user=user, team=team), False
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    team_audit(
        team=team,
        actor=user,
        action="invitation.accepted",
        target=invitation,
        data={"email": invitation.email, "role": membership.role, "joined": created},
    )
    logger.info("invitation.accepted", extra={"team": team.slug, "invitation": invitation.pk, "joined": created})
    return membership


def invitation_email_send(*, invitation_id: int, token: str) -> None:
    """Email the accept link. Runs after commit; the raw token exists only here and in the message."""
    invitation = Invitation.objects.select_related("team", "invited_by").get(pk=invitation_id)
    context = {
        "invitation": invitation,
        "team": invitation.team,
        "inviter": invitation.invited_by.display_name if invitation.invited_by else "A team admin",
        "accept_url": apex_url(public_reverse("accounts:invitation_accept", token=token)),
        "site_name": settings.SITE_NAME,
        "expires_at": invitation.expires_at,
    }
    message = EmailMultiAlternatives(
        subject=render_subject("tenants/email/invitation_subject.txt", context),  # plain text, not HTML-escaped
        body=render_text("tenants/email/invitation_message.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("tenants/email/invitation_message.html", context), "text/html")
    message.send()

"""Writes to teams, domains and memberships. Views, commands and tasks call these; nothing else writes."""

from __future__ import annotations

import logging
import re
import secrets
import zlib
from datetime import timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.module_loading import import_string

from shared_apps.accounts.models import User
from shared_apps.billing.enforcement import plan_limit_enforce, team_deletion_check
from shared_apps.billing.enums import Resource
from shared_apps.core.ratelimit import rate_limit_enforce
from tenants import exports, provisioning
from tenants.audit import team_audit
from tenants.context import public_context, tenant_context
from tenants.db import connection
from tenants.enums import ExportStatus, Role, TeamStatus
from tenants.exceptions import (
    InvalidStateError,
    InvitationError,
    MembershipError,
    PermissionDeniedError,
    TeamSlugError,
)
from tenants.models import (
    Domain,
    Invitation,
    Membership,
    Team,
    TeamExport,
    invitation_token_hash,
    schema_name_for_slug,
)
from tenants.resolver import invalidate_on_commit
from tenants.urls import apex_url, public_reverse, team_host

logger = logging.getLogger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
SLUG_MIN, SLUG_MAX = 3, 40


def slug_validate(slug: str, *, check_taken: bool = True) -> str:
    """Normalise and check a subdomain label. Raises ``TeamSlugError`` with a message a person can act on."""
    slug = (slug or "").strip().lower()
    if not slug:
        raise TeamSlugError(code="team.slug_required", message="Choose a subdomain.")
    if len(slug) < SLUG_MIN or len(slug) > SLUG_MAX:
        raise TeamSlugError(code="team.slug_length", message=f"Use between {SLUG_MIN} and {SLUG_MAX} characters.")
    if not SLUG_RE.match(slug):
        raise TeamSlugError(
            code="team.slug_format",
            message="Use lowercase letters, digits and hyphens only, starting and ending with a letter or digit.",
        )
    if "--" in slug:
        raise TeamSlugError(code="team.slug_format", message="Don't use two hyphens in a row.")
    if slug in settings.RESERVED_TEAM_SLUGS:
        raise TeamSlugError(code="team.slug_reserved", message=f"“{slug}” is reserved. Choose another subdomain.")
    if check_taken and Team.objects.filter(slug=slug).exists():
        raise TeamSlugError(code="team.slug_taken", message=f"“{slug}” is already taken. Choose another subdomain.")
    return slug


@transaction.atomic
def team_create(*, name: str, slug: str, owner: User | None = None, provision_async: bool = True) -> Team:
    """Create the team row (status provisioning), its domain and the owner membership; build the schema later.

    With ``provision_async`` the schema is built by ``team_provision_task`` once this transaction commits, so a
    signup returns at once; otherwise the caller must call ``team_provision`` (the management command does).
    """
    name = name.strip()
    if not name:
        raise TeamSlugError(code="team.name_required", message="Give the team a name.")
    slug = slug_validate(slug)
    team = Team(name=name[:100], slug=slug, schema_name=schema_name_for_slug(slug), status=TeamStatus.PROVISIONING)
    try:
        with transaction.atomic():  # a concurrent signup may take the slug between the check and the insert
            team.save()
            Domain.objects.create(domain=team_host(team), tenant=team, is_primary=True)
    except (IntegrityError, ValidationError) as exc:  # unique slug/schema, or django-tenants' own schema check
        raise TeamSlugError(
            code="team.slug_taken", message=f"“{slug}” is already taken. Choose another subdomain."
        ) from exc
    if owner is not None:
        Membership.objects.create(user=owner, team=team, role=Role.OWNER)
    invalidate_on_commit()
    if provision_async:
        from tenants import tasks

        team_id = team.pk
        transaction.on_commit(lambda: tasks.team_provision_task.delay(team_id=team_id))
    logger.info("team.created", extra={"team": slug})
    return team


def _advisory_key(team: Team) -> int:
    return 74_300_000 + zlib.crc32(team.schema_name.encode())


def team_provision(*, team_id: int, method: str | None = None) -> Team:
    """Build the schema of a team in ``provisioning`` and make it active. Idempotent; safe to call twice.

    A per-team advisory lock keeps two workers from building the same schema. A failure leaves the team in
    ``failed`` with the reason, and drops a half-built schema so a retry starts clean.
    """
    team = Team.objects.get(pk=team_id)
    if team.status != TeamStatus.PROVISIONING:
        return team
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_advisory_key(team)])
        if not cursor.fetchone()[0]:
            return team
    try:
        team.refresh_from_db()
        if team.status != TeamStatus.PROVISIONING:
            return team
        try:
            provisioning.schema_drop(team.schema_name)  # leftovers of an interrupted attempt
            result = provisioning.schema_build(team=team, method=method)
            _run_setup_hooks(team)
        except Exception as exc:
            logger.exception("team.provisioning_failed", extra={"team": team.slug})
            provisioning.schema_drop(team.schema_name)
            Team.objects.filter(pk=team.pk).update(status=TeamStatus.FAILED, provisioning_error=str(exc)[:2000])
            invalidate_on_commit()
            raise
        Team.objects.filter(pk=team.pk).update(
            status=TeamStatus.ACTIVE, provisioned_at=timezone.now(), provisioning_error=""
        )
        invalidate_on_commit()
        logger.info("team.provisioned", extra={"team": team.slug, "method": result.method, "seconds": result.seconds})
    finally:
        connection.set_schema_to_public()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_advisory_key(team)])
    team.refresh_from_db()
    return team


def _run_setup_hooks(team: Team) -> None:
    """Seed a new team's schema (hooks are dotted paths in ``TEAM_SETUP_HOOKS``, called inside the team)."""
    with tenant_context(team):
        for path in settings.TEAM_SETUP_HOOKS:
            import_string(path)(team=team)


def team_set_status(*, team: Team, status: TeamStatus) -> Team:
    if team.is_public:
        raise InvalidStateError(code="team.public", message="The public site has no status.")
    if status not in (TeamStatus.ACTIVE, TeamStatus.SUSPENDED):
        raise InvalidStateError(code="team.bad_status", message="A team can only be activated or suspended.")
    if team.status not in (TeamStatus.ACTIVE, TeamStatus.SUSPENDED):
        raise InvalidStateError(code="team.not_ready", message="Only an active or suspended team can change status.")
    Team.objects.filter(pk=team.pk).update(status=status)
    invalidate_on_commit()
    team.refresh_from_db()
    logger.info("team.status_changed", extra={"team": team.slug, "status": status})
    return team


def team_delete(*, team: Team) -> None:
    """Drop the schema and remove the team, its domains and memberships. Irreversible."""
    if team.is_public:
        raise InvalidStateError(code="team.public", message="The public tenant cannot be deleted.")
    connection.set_schema_to_public()
    provisioning.schema_drop(team.schema_name)
    with transaction.atomic():
        Team.objects.filter(pk=team.pk).delete()
        invalidate_on_commit()
    exports.export_files_remove(schema_name=team.schema_name)
    logger.info("team.deleted", extra={"team": team.slug})


@transaction.atomic
def public_tenant_ensure() -> Team:
    """The public tenant (schema ``public``) answering the apex domain. Created once; safe to re-run."""
    team, _ = Team.objects.get_or_create(
        schema_name="public", defaults={"name": settings.SITE_NAME, "slug": "public", "status": TeamStatus.ACTIVE}
    )
    Domain.objects.update_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": team, "is_primary": True})
    invalidate_on_commit()
    return team


def _lock_team(team: Team) -> Team:
    """Serialise membership and invitation changes of one team (the team row is the mutex)."""
    return Team.objects.select_for_update().get(pk=team.pk)


def _role_of(*, user: User, team: Team) -> Role | None:
    membership = Membership.objects.filter(user=user, team=team).only("role").first()
    return membership.role_enum if membership else None


def _ensure_role(*, user: User, team: Team, role: Role, action: str) -> None:
    """Services check the role they need themselves (pages declare it too): every caller gets the same rule."""
    actual = _role_of(user=user, team=team)
    if actual is None or not actual.at_least(role):
        raise PermissionDeniedError(code="team.forbidden", message=f"Only {role.label.lower()}s can {action}.")


# ------------------------------------------------------------------------------
# Team settings: rename, delete, retry a failed provisioning
# ------------------------------------------------------------------------------


@transaction.atomic
def team_rename(*, team: Team, name: str, actor: User) -> Team:
    name = " ".join((name or "").split())
    if not name:
        raise TeamSlugError(code="team.name_required", message="Give the team a name.")
    if len(name) > 100:
        raise TeamSlugError(code="team.name_too_long", message="Use at most 100 characters.")
    _ensure_role(user=actor, team=team, role=Role.ADMIN, action="rename the team")
    previous = team.name
    if name == previous:
        return team
    Team.objects.filter(pk=team.pk).update(name=name, updated_at=timezone.now())
    invalidate_on_commit()
    team.name = name
    team_audit(team=team, actor=actor, action="team.renamed", target=team, data={"from": previous, "to": name})
    logger.info("team.renamed", extra={"team": team.slug})
    return team


@transaction.atomic
def team_delete_request(*, team: Team, actor: User, confirm_slug: str) -> None:
    """Mark the team deleted at once (its hosts stop answering) and drop its schema in the background.

    Owners only; ``confirm_slug`` must repeat the team's slug.
    """
    if team.is_public:
        raise InvalidStateError(code="team.public", message="The public tenant cannot be deleted.")
    _ensure_role(user=actor, team=team, role=Role.OWNER, action="delete the team")
    if (confirm_slug or "").strip().lower() != team.slug:
        raise InvalidStateError(
            code="team.delete_not_confirmed", message=f"Type the subdomain “{team.slug}” exactly to confirm."
        )
    team_deletion_check(team=team)
    locked = _lock_team(team)
    if locked.status == TeamStatus.DELETED:
        return
    Team.objects.filter(pk=team.pk).update(status=TeamStatus.DELETED, updated_at=timezone.now())
    Invitation.objects.open().filter(team=team).update(revoked_at=timezone.now())
    invalidate_on_commit()
    logger.info("team.delete_requested", extra={"team": team.slug, "actor": actor.pk})
    from tenants import tasks

    team_id = team.pk

    def enqueue() -> None:
        with public_context():  # the schema is about to go: the task runs in public
            tasks.team_delete_task.delay(team_id=team_id)

    transaction.on_commit(enqueue)


@transaction.atomic
def team_provision_retry(*, team: Team, actor: User) -> Team:
    """Put a team whose provisioning failed back in the queue (owners only; rate limited per team)."""
    _ensure_role(user=actor, team=team, role=Role.OWNER, action="retry the setup")
    locked = _lock_team(team)
    if locked.status != TeamStatus.FAILED:
        raise InvalidStateError(code="team.not_failed", message="This team is not in a failed state.")
    rate_limit_enforce(scope="team.provision_retry", ident=str(team.pk))
    Team.objects.filter(pk=team.pk).update(status=TeamStatus.PROVISIONING, provisioning_error="")
    invalidate_on_commit()
    from tenants import tasks

    team_id = team.pk
    transaction.on_commit(lambda: tasks.team_provision_task.delay(team_id=team_id))
    logger.info("team.provisioning_retried", extra={"team": team.slug, "actor": actor.pk})
    locked.refresh_from_db()
    return locked


# ------------------------------------------------------------------------------
# Memberships: change role, remove, leave. Rules in docs/permissions.md.
# ------------------------------------------------------------------------------


def _ensure_may_manage(*, actor_role: Role | None, current: Role, new: Role | None = None) -> None:
    """Admins manage admins, editors and viewers; only owners grant, change or remove the owner role."""
    if actor_role is None or not actor_role.at_least(Role.ADMIN):
        raise PermissionDeniedError(code="member.forbidden", message="Only admins can manage members.")
    if Role.OWNER in (current, new) and actor_role != Role.OWNER:
        raise PermissionDeniedError(code="member.owner_only", message="Only an owner can add or remove owners.")


def _ensure_other_owner(*, team: Team, membership: Membership, message: str) -> None:
    others = Membership.objects.filter(team=team, role=Role.OWNER).exclude(pk=membership.pk)
    if not others.exists():
        raise MembershipError(code="member.last_owner", message=message)


@transaction.atomic
def membership_role_change(*, membership: Membership, role: Role, actor: User) -> Membership:
    team = _lock_team(membership.team)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    current = membership.role_enum
    role = Role(role)
    _ensure_may_manage(actor_role=_role_of(user=actor, team=team), current=current, new=role)
    if role == current:
        return membership
    if current == Role.OWNER:
        _ensure_other_owner(
            team=team,
            membership=membership,
            message="A team needs at least one owner. Make someone else an owner first.",
        )
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    team_audit(
        team=team,
        actor=actor,
        action="member.role_changed",
        target=membership,
        data={"user": membership.user.email, "from": current.value, "to": role.value},
    )
    logger.info("member.role_changed", extra={"team": team.slug, "member": membership.user_id, "role": role.value})
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor: User) -> None:
    """Remove a member (or, when ``actor`` is the member, leave). The last owner can do neither."""
    team = _lock_team(membership.team)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    leaving = membership.user_id == actor.pk
    if not leaving:
        _ensure_may_manage(actor_role=_role_of(user=actor, team=team), current=membership.role_enum)
    if membership.role_enum == Role.OWNER:
        _ensure_other_owner(
            team=team,
            membership=membership,
            message=(
                "You are the last owner. Make someone else an owner before you leave."
                if leaving
                else "The last owner can't be removed. Make someone else an owner first."
            ),
        )
    email = membership.user.email
    membership.delete()
    team_audit(
        team=team,
        actor=actor,
        action="member.left" if leaving else "member.removed",
        data={"user": email, "role": membership.role},
    )
    logger.info("member.removed", extra={"team": team.slug, "member": membership.user_id, "left": leaving})


# ------------------------------------------------------------------------------
# Invitations (docs/adr/0011-invitations.md)
# ------------------------------------------------------------------------------


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
    actor_role = _role_of(user=invited_by, team=team)
    if actor_role is None or not actor_role.at_least(Role.ADMIN):
        raise PermissionDeniedError(code="invitation.forbidden", message="Only admins can invite people.")
    if role == Role.OWNER and actor_role != Role.OWNER:
        raise PermissionDeniedError(code="invitation.owner_only", message="Only an owner can invite an owner.")
    rate_limit_enforce(scope="invitation.create.team", ident=str(team.pk))
    rate_limit_enforce(scope="invitation.create.user", ident=str(invited_by.pk))
    team = _lock_team(team)
    plan_limit_enforce(team=team, resource=Resource.MEMBERS)
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


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor: User) -> Invitation:
    """Send a fresh link (new token, new expiry); the previous link stops working."""
    invitation = Invitation.objects.select_for_update().select_related("team").get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationError(code="invitation.closed", message="This invitation was already accepted or revoked.")
    rate_limit_enforce(scope="invitation.resend", ident=str(invitation.pk))
    rate_limit_enforce(scope="invitation.create.team", ident=str(invitation.team_id))
    token = _invitation_new_token(invitation)
    invitation.save(update_fields=["token_hash", "expires_at", "sent_at", "send_count"])
    team_audit(
        team=invitation.team,
        actor=actor,
        action="invitation.resent",
        target=invitation,
        data={"email": invitation.email, "role": invitation.role},
    )
    invitation_id = invitation.pk
    transaction.on_commit(lambda: invitation_email_send(invitation_id=invitation_id, token=token))
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: User) -> Invitation:
    invitation = Invitation.objects.select_for_update().select_related("team").get(pk=invitation.pk)
    if invitation.accepted_at:
        raise InvitationError(code="invitation.accepted", message="This invitation was already accepted.")
    if invitation.revoked_at:
        return invitation
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    team_audit(
        team=invitation.team,
        actor=actor,
        action="invitation.revoked",
        target=invitation,
        data={"email": invitation.email, "role": invitation.role},
    )
    return invitation


def _user_owns_email(*, user: User, email: str) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=email, verified=True).exists()


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
    if not _user_owns_email(user=user, email=invitation.email):
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
    subject = " ".join(render_to_string("tenants/email/invitation_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("tenants/email/invitation_message.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("tenants/email/invitation_message.html", context), "text/html")
    message.send()


# ------------------------------------------------------------------------------
# Data export (docs/adr/0014-team-export.md)
# ------------------------------------------------------------------------------


@transaction.atomic
def team_export_request(*, team: Team, actor: User) -> tuple[TeamExport, bool]:
    """Queue an archive of the team's schema; returns (export, created). One export at a time per team."""
    _ensure_role(user=actor, team=team, role=Role.ADMIN, action="export the team's data")
    running = TeamExport.objects.filter(team=team, status__in=[ExportStatus.PENDING, ExportStatus.RUNNING]).first()
    if running is not None:
        return running, False
    rate_limit_enforce(scope="team.export", ident=str(team.pk))
    export = TeamExport.objects.create(team=team, requested_by=actor)
    team_audit(team=team, actor=actor, action="team.export_requested", target=export)
    from tenants import tasks

    export_id = export.pk

    def enqueue() -> None:
        with public_context():
            tasks.team_export_task.delay(export_id=export_id)

    transaction.on_commit(enqueue)
    return export, True


def team_export_run(*, export_id: int) -> TeamExport:
    """Dump the schema to a file and record the outcome. Idempotent: a finished export is left alone."""
    export = TeamExport.objects.select_related("team").get(pk=export_id)
    if export.is_finished:
        return export
    team = export.team
    TeamExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING, started_at=timezone.now())
    target = exports.export_path(schema_name=team.schema_name, export_id=export.pk)

    def progress(read: int) -> None:
        TeamExport.objects.filter(pk=export.pk).update(size_bytes=read)

    try:
        size = exports.schema_dump(schema_name=team.schema_name, target=target, progress=progress)
    except Exception as exc:
        logger.exception("team_export.failed", extra={"team": team.slug, "export": export.pk})
        TeamExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        export.refresh_from_db()
        return export
    TeamExport.objects.filter(pk=export.pk).update(
        status=ExportStatus.DONE, file_path=str(target), size_bytes=size, finished_at=timezone.now(), error=""
    )
    _team_exports_prune(team=team)
    logger.info("team_export.finished", extra={"team": team.slug, "export": export.pk, "bytes": size})
    export.refresh_from_db()
    if team.status == TeamStatus.ACTIVE:
        team_audit(team=team, actor=None, action="team.export_finished", target=export, data={"bytes": size})
    return export


def _team_exports_prune(*, team: Team) -> None:
    """Keep the newest ``TEAM_EXPORT_KEEP`` finished exports of a team; delete older files and rows."""
    finished = TeamExport.objects.filter(team=team, status__in=[ExportStatus.DONE, ExportStatus.FAILED])
    for old in finished.order_by("-created_at", "-id")[settings.TEAM_EXPORT_KEEP :]:
        if old.file_path:
            Path(old.file_path).unlink(missing_ok=True)
        old.delete()

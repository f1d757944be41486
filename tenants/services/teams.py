"""Teams: create (the schema is built later by ``team_provision_task``), rename, suspend, ask for deletion, retry a
failed setup. The work those tasks do is in ``tenants.lifecycle``."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.core.ratelimit import rate_limit_enforce
from tenants import tasks
from tenants.audit import team_audit
from tenants.context import public_context
from tenants.enums import Role, TeamStatus
from tenants.exceptions import InvalidStateError, TeamSlugError
from tenants.models import Domain, Invitation, Membership, Team, schema_name_for_slug
from tenants.resolver import invalidate_on_commit
from tenants.services.guards import role_require, team_checks_run, team_lock
from tenants.urls import team_host

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
    signup returns at once; otherwise the caller must call ``tenants.lifecycle.team_provision`` (the management
    command does).
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
        team_id = team.pk
        transaction.on_commit(lambda: tasks.team_provision_task.delay(team_id=team_id))
        if settings.TEAM_SPARE_SCHEMAS:  # the provisioning takes a spare: build the next one (ADR 0153)
            transaction.on_commit(lambda: tasks.team_spares_refill_task.delay())
    logger.info("team.created", extra={"team": slug})
    return team


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


@transaction.atomic
def public_tenant_ensure() -> Team:
    """The public tenant (schema ``public``) answering the apex domain. Created once; safe to re-run."""
    team, _ = Team.objects.get_or_create(
        schema_name="public", defaults={"name": settings.SITE_NAME, "slug": "public", "status": TeamStatus.ACTIVE}
    )
    Domain.objects.update_or_create(domain=settings.BASE_DOMAIN, defaults={"tenant": team, "is_primary": True})
    invalidate_on_commit()
    return team


@transaction.atomic
def team_rename(*, team: Team, name: str, actor: User) -> Team:
    name = " ".join((name or "").split())
    if not name:
        raise TeamSlugError(code="team.name_required", message="Give the team a name.")
    if len(name) > 100:
        raise TeamSlugError(code="team.name_too_long", message="Use at most 100 characters.")
    role_require(user=actor, team=team, role=Role.ADMIN, action="rename the team")
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
    role_require(user=actor, team=team, role=Role.OWNER, action="delete the team")
    if (confirm_slug or "").strip().lower() != team.slug:
        raise InvalidStateError(
            code="team.delete_not_confirmed", message=f"Type the subdomain “{team.slug}” exactly to confirm."
        )
    team_checks_run(settings.TEAM_DELETE_CHECKS, team=team)
    locked = team_lock(team)
    if locked.status == TeamStatus.DELETED:
        return
    Team.objects.filter(pk=team.pk).update(status=TeamStatus.DELETED, updated_at=timezone.now())
    Invitation.objects.open().filter(team=team).update(revoked_at=timezone.now())
    invalidate_on_commit()
    logger.info("team.delete_requested", extra={"team": team.slug, "actor": actor.pk})
    team_id = team.pk

    def enqueue() -> None:
        with public_context():  # the schema is about to go: the task runs in public
            tasks.team_delete_task.delay(team_id=team_id)

    transaction.on_commit(enqueue)


@transaction.atomic
def team_provision_retry(*, team: Team, actor: User) -> Team:
    """Put a team whose provisioning failed back in the queue (owners only; rate limited per team)."""
    role_require(user=actor, team=team, role=Role.OWNER, action="retry the setup")
    locked = team_lock(team)
    if locked.status != TeamStatus.FAILED:
        raise InvalidStateError(code="team.not_failed", message="This team is not in a failed state.")
    rate_limit_enforce(scope="team.provision_retry", ident=str(team.pk))
    Team.objects.filter(pk=team.pk).update(status=TeamStatus.PROVISIONING, provisioning_error="")
    invalidate_on_commit()
    team_id = team.pk
    transaction.on_commit(lambda: tasks.team_provision_task.delay(team_id=team_id))
    logger.info("team.provisioning_retried", extra={"team": team.slug, "actor": actor.pk})
    locked.refresh_from_db()
    return locked

"""Writes to teams, domains and memberships. Views, commands and tasks call these; nothing else writes."""

from __future__ import annotations

import logging
import re
import zlib

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from shared_apps.accounts.models import User
from tenants import provisioning
from tenants.context import tenant_context
from tenants.db import connection
from tenants.enums import Role, TeamStatus
from tenants.exceptions import InvalidStateError, TeamSlugError
from tenants.models import Domain, Membership, Team, schema_name_for_slug
from tenants.resolver import invalidate_on_commit
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
    signup returns at once; otherwise the caller must call ``team_provision`` (the management command does).
    """
    name = name.strip()
    if not name:
        raise TeamSlugError(code="team.name_required", message="Give the team a name.")
    slug = slug_validate(slug)
    team = Team(name=name[:100], slug=slug, schema_name=schema_name_for_slug(slug), status=TeamStatus.PROVISIONING)
    team.save()
    Domain.objects.create(domain=team_host(team), tenant=team, is_primary=True)
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

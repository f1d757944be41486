"""A team's schema coming and going: build it and make the team active (``team_provision``), drop it with the
team's rows and files (``team_delete``). Tasks run these (and the ``create_team`` / ``delete_team`` commands); they
enqueue nothing."""

from __future__ import annotations

import logging
import zlib

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from shared_apps.core.db import connection
from tenants import exports, provisioning
from tenants.context import tenant_context
from tenants.enums import TeamStatus
from tenants.exceptions import InvalidStateError
from tenants.models import Team
from tenants.resolver import invalidate_on_commit

logger = logging.getLogger(__name__)


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

"""What staff change from the console. Each service checks, changes through the owning app's service (tenants
for status, billing for plans) and writes one ``StaffAction`` in the same transaction; the team's own audit log
gets the event too where the owning service writes one.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.billing.services import plan_set
from shared_apps.catalog.models import LlmModel
from shared_apps.console.flags import FLAGS
from shared_apps.console.models import Impersonation, StaffAction, TeamFlag, TeamRollup
from shared_apps.core.exceptions import InvalidStateError, NotFoundError, PermissionDeniedError
from shared_apps.core.request_context import request_id_var
from tenants.audit import team_audit
from tenants.enums import TeamStatus
from tenants.models import Team
from tenants.services.teams import team_set_status

logger = logging.getLogger(__name__)

MAX_REASON = 300


def staff_action_record(*, actor: User | None, action: str, team: Team | None = None, data: dict | None = None) -> None:
    StaffAction.objects.create(
        actor=actor,
        actor_label=actor.email if actor is not None else "system",
        action=action,
        team=team,
        team_label=team.slug if team is not None else "",
        data=data or {},
        request_id=request_id_var.get()[:64],
    )


def _staff_require(actor: User) -> None:
    if not (actor.is_active and actor.is_staff):
        raise PermissionDeniedError(code="console.not_staff", message="Only platform staff can do this.")


@transaction.atomic
def team_suspend(*, team: Team, actor: User, reason: str) -> Team:
    """Suspend a team: its host answers "suspended", its channels stop, beat skips it. Reversible."""
    _staff_require(actor)
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise InvalidStateError(code="console.reason_required", message="Say why the team is suspended.")
    team = team_set_status(team=team, status=TeamStatus.SUSPENDED)
    staff_action_record(actor=actor, action="team.suspended", team=team, data={"reason": reason})
    team_audit(team=team, actor=actor, action="team.suspended_by_staff", data={"reason": reason})
    return team


@transaction.atomic
def team_unsuspend(*, team: Team, actor: User) -> Team:
    _staff_require(actor)
    team = team_set_status(team=team, status=TeamStatus.ACTIVE)
    staff_action_record(actor=actor, action="team.unsuspended", team=team)
    team_audit(team=team, actor=actor, action="team.unsuspended_by_staff")
    return team


@transaction.atomic
def team_plan_override(*, team: Team, actor: User, plan_code: str) -> Team:
    """Put the team on a plan directly (billing's ``plan_set``); a later Stripe event sets it from Stripe again."""
    _staff_require(actor)
    previous = team.plan_code
    plan_set(team=team, plan_code=plan_code, actor=actor)
    staff_action_record(actor=actor, action="team.plan_overridden", team=team, data={"from": previous, "to": plan_code})
    team.refresh_from_db()
    return team


@transaction.atomic
def team_flag_set(*, team: Team, actor: User, name: str, enabled: bool) -> None:
    _staff_require(actor)
    if name not in FLAGS:
        raise NotFoundError(code="console.unknown_flag", message=f"There is no feature flag “{name[:60]}”.")
    if enabled:
        _, created = TeamFlag.objects.get_or_create(team=team, name=name, defaults={"enabled_by": actor})
        changed = created
    else:
        changed = TeamFlag.objects.filter(team=team, name=name).delete()[0] > 0
    if changed:
        staff_action_record(actor=actor, action="team.flag_set", team=team, data={"flag": name, "enabled": enabled})


# ---------------------------------------------------------------------------------------------- impersonation


@transaction.atomic
def impersonation_start(*, team: Team, actor: User, reason: str) -> Impersonation:
    """Open a read-only visit to ``team``. One open visit per staff member: starting another ends the previous."""
    _staff_require(actor)
    reason = reason.strip()[:MAX_REASON]
    if not reason:
        raise InvalidStateError(code="console.reason_required", message="Say why you need to see this team.")
    if team.is_public or team.status not in (TeamStatus.ACTIVE,):
        raise InvalidStateError(code="console.team_not_active", message="Only an active team can be visited.")
    for previous in Impersonation.objects.select_for_update().filter(staff=actor, ended_at__isnull=True):
        _impersonation_close(previous, actor=actor, how="replaced")
    impersonation = Impersonation.objects.create(staff=actor, team=team, reason=reason)
    staff_action_record(
        actor=actor, action="impersonation.started", team=team, data={"id": impersonation.pk, "reason": reason}
    )
    team_audit(team=team, actor=actor, action="impersonation.started", data={"reason": reason})
    logger.info("impersonation.started", extra={"team": team.slug, "impersonation": impersonation.pk})
    return impersonation


@transaction.atomic
def impersonation_end(*, impersonation_id: int, actor: User) -> Impersonation | None:
    """End a visit (by the visiting staff member, or by any staff from the console). Idempotent."""
    impersonation = Impersonation.objects.select_for_update().filter(pk=impersonation_id).first()
    if impersonation is None or not impersonation.is_open:
        return impersonation
    if impersonation.staff_id != actor.pk:
        _staff_require(actor)
    _impersonation_close(impersonation, actor=actor, how="ended")
    return impersonation


def _impersonation_close(impersonation: Impersonation, *, actor: User, how: str) -> None:
    impersonation.ended_at = timezone.now()
    impersonation.save(update_fields=["ended_at"])
    team = impersonation.team
    data = {"id": impersonation.pk, "requests": impersonation.requests, "how": how}
    staff_action_record(actor=actor, action="impersonation.ended", team=team, data=data)
    team_audit(team=team, actor=actor, action="impersonation.ended", data=data)


def impersonation_request_record(*, impersonation: Impersonation, method: str, path: str, status: int) -> None:
    """Every request of a visit, in the staff audit log (one insert and one counter update)."""
    Impersonation.objects.filter(pk=impersonation.pk).update(requests=F("requests") + 1)
    StaffAction.objects.create(
        actor_id=impersonation.staff_id,
        actor_label=impersonation.staff.email,
        action="impersonation.request",
        team_id=impersonation.team_id,
        team_label=impersonation.team.slug,
        data={"id": impersonation.pk, "method": method, "path": path[:500], "status": status},
        request_id=request_id_var.get()[:64],
    )


# ---------------------------------------------------------------------------------------------- catalog


CATALOG_FIELDS = (
    "display_name",
    "context_window",
    "max_output_tokens",
    "input_price_per_million",
    "output_price_per_million",
    "deprecated",
    "is_default",
)


@transaction.atomic
def catalog_model_update(*, model: LlmModel, actor: User, values: dict[str, Any]) -> LlmModel:
    """Edit a global model row. Pinned, so ``seed_catalog`` keeps the staff's values."""
    _staff_require(actor)
    changed = {}
    for name in CATALOG_FIELDS:
        if name in values and getattr(model, name) != values[name]:
            changed[name] = str(values[name])
            setattr(model, name, values[name])
    if changed:
        model.pinned = True
        model.save()
        staff_action_record(actor=actor, action="catalog.model_updated", data={"model": model.name, "changes": changed})
    return model


# ---------------------------------------------------------------------------------------------- roll-ups


def team_rollup_write(*, team_id: int, figures: dict[str, Any]) -> None:
    """Store what the team's collectors found (called in public by the refresh task)."""
    TeamRollup.objects.update_or_create(
        team_id=team_id,
        defaults={
            "chatbots": int(figures.get("chatbots") or 0),
            "sessions": int(figures.get("sessions") or 0),
            "last_activity_at": figures.get("last_activity_at"),
        },
    )

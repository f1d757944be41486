"""Memberships: change a role, remove a member, leave. Rules in docs/permissions.md."""

from __future__ import annotations

import logging

from django.db import transaction

from shared_apps.accounts.models import User
from tenants.audit import team_audit
from tenants.enums import Role
from tenants.exceptions import MembershipError, PermissionDeniedError
from tenants.models import Membership, Team
from tenants.services.guards import role_of, team_lock

logger = logging.getLogger(__name__)


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
    team = team_lock(membership.team)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    current = membership.role_enum
    role = Role(role)
    _ensure_may_manage(actor_role=role_of(user=actor, team=team), current=current, new=role)
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
    team = team_lock(membership.team)
    membership = Membership.objects.select_related("user").get(pk=membership.pk)
    leaving = membership.user_id == actor.pk
    if not leaving:
        _ensure_may_manage(actor_role=role_of(user=actor, team=team), current=membership.role_enum)
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

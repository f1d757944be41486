"""What several tenants services check first: the actor's role in the team, and the team row as the mutex."""

from __future__ import annotations

from django.utils.module_loading import import_string

from shared_apps.accounts.models import User
from tenants.enums import Role
from tenants.exceptions import PermissionDeniedError
from tenants.models import Membership, Team


def team_lock(team: Team) -> Team:
    """Serialise membership and invitation changes of one team (the team row is the mutex)."""
    return Team.objects.select_for_update().get(pk=team.pk)


def role_of(*, user: User, team: Team) -> Role | None:
    membership = Membership.objects.filter(user=user, team=team).only("role").first()
    return membership.role_enum if membership else None


def role_require(*, user: User, team: Team, role: Role, action: str) -> None:
    """Services check the role they need themselves (pages declare it too): every caller gets the same rule."""
    actual = role_of(user=user, team=team)
    if actual is None or not actual.at_least(role):
        raise PermissionDeniedError(code="team.forbidden", message=f"Only {role.label.lower()}s can {action}.")


def team_checks_run(paths: list[str], *, team: Team) -> None:
    """Run the checks other apps plug in by dotted path (``TEAM_MEMBER_ADD_CHECKS``, ``TEAM_DELETE_CHECKS``): each
    raises an ``ApplicationError`` to refuse. tenants imports no app above it (import contract)."""
    for path in paths:
        import_string(path)(team=team)

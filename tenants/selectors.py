"""Reads of teams and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from tenants.models import Membership, Team


def membership_for(*, user_id: int, team_id: int) -> Membership | None:
    return Membership.objects.filter(user_id=user_id, team_id=team_id).first()


def team_list_for_user(*, user_id: int) -> QuerySet[Membership]:
    """The user's memberships in teams that are not deleted, with the team, by team name."""
    return (
        Membership.objects.filter(user_id=user_id)
        .exclude(team__status="deleted")
        .select_related("team")
        .order_by("team__name")
    )


def team_get_by_slug(*, slug: str) -> Team | None:
    return Team.objects.teams().filter(slug=slug.lower()).first()

"""Reads of teams, memberships, invitations and exports (public tables: these filter by team on purpose)."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.db.models import Case, IntegerField, QuerySet, Subquery, Value, When
from django.utils import timezone

from tenants.enums import Role
from tenants.models import ChannelRoute, Invitation, Membership, Team, TeamExport, invitation_token_hash


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


def membership_list(*, team: Team) -> QuerySet[Membership]:
    """The team's members with their users, owners first, then by email."""
    rank = Case(
        *(When(role=role, then=Value(role.rank)) for role in Role),
        output_field=IntegerField(),
    )
    return (
        Membership.objects.filter(team=team).select_related("user").annotate(rank=rank).order_by("-rank", "user__email")
    )


def membership_get(*, team: Team, membership_id: int) -> Membership | None:
    """A membership of ``team`` by id (None for another team's membership: callers answer 404)."""
    return Membership.objects.select_related("user", "team").filter(team=team, pk=membership_id).first()


def owner_count(*, team: Team) -> int:
    return Membership.objects.filter(team=team, role=Role.OWNER).count()


def invitation_list(*, team: Team, include_closed: bool = False) -> QuerySet[Invitation]:
    qs = Invitation.objects.filter(team=team).select_related("invited_by", "accepted_by")
    return qs if include_closed else qs.open()


def invitation_get(*, team: Team, invitation_id: int) -> Invitation | None:
    return Invitation.objects.select_related("team").filter(team=team, pk=invitation_id).first()


def invitation_get_by_token(*, token: str) -> Invitation | None:
    """The invitation a raw token names (any state), or None. Only the token's hash is stored."""
    if not token or len(token) > 200:
        return None
    qs = Invitation.objects.select_related("team", "invited_by")
    return qs.filter(token_hash=invitation_token_hash(token)).first()


def user_owns_email(*, user_id: int, email: str) -> bool:
    """Whether ``email`` is one of the user's verified addresses (invitations go to an address, not a user)."""
    return EmailAddress.objects.filter(user_id=user_id, email__iexact=email, verified=True).exists()


def invitation_pending_for_user(*, user_id: int) -> QuerySet[Invitation]:
    """Pending invitations addressed to any verified address of the user (shown on the team picker)."""
    emails = EmailAddress.objects.filter(user_id=user_id, verified=True).values("email")
    return (
        Invitation.objects.open()
        .filter(email__in=Subquery(emails), expires_at__gt=timezone.now(), team__status="active")
        .exclude(team__memberships__user_id=user_id)
        .select_related("team")
    )


def team_export_list(*, team: Team) -> QuerySet[TeamExport]:
    return TeamExport.objects.filter(team=team).select_related("requested_by")


def team_export_get(*, team: Team, export_id: int) -> TeamExport | None:
    return TeamExport.objects.filter(team=team, pk=export_id).first()


def channel_route_resolve(*, platform: str, external_id: str) -> ChannelRoute | None:
    """The team and channel an external id routes to (with its team), or None."""
    return ChannelRoute.objects.select_related("team").filter(platform=platform, external_id=external_id).first()


def channel_route_taken(*, platform: str, external_id: str, team: Team, channel_id: int) -> bool:
    """Whether ``external_id`` routes to some other channel (of any team) already."""
    return (
        ChannelRoute.objects.filter(platform=platform, external_id=external_id)
        .exclude(team=team, channel_id=channel_id)
        .exists()
    )

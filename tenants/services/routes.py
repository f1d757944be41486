"""Writes of ``ChannelRoute`` (public): the team's channel services call these when a channel gains, changes or
loses an external id that global endpoints route by."""

from __future__ import annotations

from tenants.models import ChannelRoute, Team


def channel_route_set(*, team: Team, platform: str, external_id: str, channel_id: int) -> ChannelRoute:
    """Route ``(platform, external_id)`` to the team's channel, replacing the channel's earlier route on that
    platform (a re-keyed channel answers only to its new id). An id another team routes already is refused by the
    unique constraint (IntegrityError): the caller turns it into a form error."""
    ChannelRoute.objects.filter(team=team, platform=platform, channel_id=channel_id).exclude(
        external_id=external_id
    ).delete()
    route, _ = ChannelRoute.objects.get_or_create(
        platform=platform, external_id=external_id, defaults={"team": team, "channel_id": channel_id}
    )
    return route


def channel_route_delete(*, team: Team, channel_id: int) -> None:
    ChannelRoute.objects.filter(team=team, channel_id=channel_id).delete()

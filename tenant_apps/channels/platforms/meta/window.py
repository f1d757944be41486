"""WhatsApp's 24-hour customer-service window, per participant and business number (a channel).

Meta delivers free-form messages only within 24 hours of the participant's last message to that number; after
that only approved templates go out (a later issue). Nothing new is stored to track it: the participant's last
visible message on the channel is the window's start, at the time Meta stamped it (``platform_timestamp`` in
the message's metadata, written by the webhook) or, without one, when we stored it. A late webhook therefore
does not stretch the window. Replies and bot-initiated messages (events, broadcasts) are checked alike, before
anything is sent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.channels.models import Channel, ChannelSession
from tenant_apps.channels.platforms.meta.graph import OUTSIDE_WINDOW
from tenant_apps.conversations import selectors as conversation_selectors

WINDOW = timedelta(hours=24)


def last_inbound_at(*, channel: Channel, participant_id: int) -> datetime | None:
    """When the participant last wrote to ``channel`` (Meta's time when known), or None if never."""
    sessions = ChannelSession.objects.filter(channel_id=channel.pk).values("session_id")
    last = conversation_selectors.participant_last_message(participant_id=participant_id, session_ids=sessions)
    if last is None:
        return None
    stamped = (last.metadata or {}).get("platform_timestamp")
    if isinstance(stamped, int | float) and not isinstance(stamped, bool):
        return datetime.fromtimestamp(stamped, tz=UTC)
    return last.created_at


def window_check(*, channel: Channel, participant_id: int, now: datetime | None = None) -> None:
    """Raise ``channel.outside_window`` (permanent) unless the participant wrote in the last 24 hours."""
    last = last_inbound_at(channel=channel, participant_id=participant_id)
    if last is None or (now or timezone.now()) - last >= WINDOW:
        raise ApplicationError(
            code="channel.outside_window",
            message=OUTSIDE_WINDOW,
            extra={"last_inbound_at": last.isoformat() if last else None},
        )

"""What Meta tells us about our own replies, written on them (team schema): the platform's message ids of a
reply's parts (``metadata["platform_ids"]``, written after each part is accepted, so a retried send skips the
parts already out), and the latest status Meta reported (``metadata["platform_status"]``: sent, delivered, read or
failed, never going backwards). A failed status also fails the reply's delivery, with Meta's reason, so the
channel page and the session show it.

Every write is a JSON merge of top-level keys: nothing else in the metadata is overwritten.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tenant_apps.channels.enums import DeliveryStatus
from tenant_apps.channels.models import Channel, ChannelSession, Delivery
from tenant_apps.conversations import selectors as conversation_selectors
from tenant_apps.conversations import services as conversation_services

if TYPE_CHECKING:
    from tenant_apps.conversations.models import ChatMessage

logger = logging.getLogger(__name__)

# Meta's statuses in the order they happen; an older one arriving late never replaces a newer one.
STATUS_RANK = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
RECENT_REPLIES = 50  # a read watermark marks at most this many of the participant's latest replies


def _merge(message_id: int, values: dict[str, Any]) -> None:
    conversation_services.message_metadata_merge(message_id=message_id, values=values)


def sent_ids(reply: ChatMessage) -> list[str]:
    """The platform ids of the parts of ``reply`` sent already (a retried send continues after them)."""
    ids = (reply.metadata or {}).get("platform_ids")
    return [str(i) for i in ids] if isinstance(ids, list) else []


def part_sent(*, reply: ChatMessage, ids: list[str]) -> None:
    """Remember that the parts with ``ids`` are out (on the reply and in the database)."""
    reply.metadata = {**(reply.metadata or {}), "platform_ids": ids}
    _merge(reply.pk, {"platform_ids": ids})


def refusal_note(*, reply: ChatMessage, code: str) -> None:
    """The stable code of a permanent refusal (``channel.outside_window``…), next to the delivery's wording."""
    _merge(reply.pk, {"platform_error": code})


def _replies(channel: Channel, participant: str) -> Any:
    sessions = ChannelSession.objects.filter(channel_id=channel.pk).values("session_id")
    return conversation_selectors.bot_messages_to(participant_identifier=participant, session_ids=sessions)


def _at(timestamp: Any) -> str:
    try:
        return datetime.fromtimestamp(int(timestamp) / (1000 if int(timestamp) > 10**11 else 1), tz=UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(tz=UTC).isoformat()


def _apply(reply: ChatMessage, status: str, at: str, error: str) -> bool:
    current = (reply.metadata or {}).get("platform_status") or {}
    if STATUS_RANK.get(str(current.get("status")), 0) >= STATUS_RANK[status]:
        return False
    note: dict[str, Any] = {"status": status, "at": at}
    if error:
        note["error"] = error[:300]
    _merge(reply.pk, {"platform_status": note})
    if status == "failed":
        Delivery.objects.filter(message_id=reply.pk).update(status=DeliveryStatus.FAILED, error=error[:500])
        conversation_services.message_delivery_note(message_id=reply.pk, status=DeliveryStatus.FAILED, error=error)
    return True


def status_record(
    *, channel: Channel, platform_id: str, participant: str, status: str, timestamp: Any = None, error: str = ""
) -> bool:
    """Meta's status for the reply part ``platform_id`` sent to ``participant`` on ``channel``; False when no reply
    of ours has that id (or the status is not newer than the one recorded)."""
    if status not in STATUS_RANK or not platform_id:
        return False
    reply = _replies(channel, participant).filter(metadata__platform_ids__contains=[platform_id]).first()
    if reply is None:
        logger.info("meta.status_unmatched", extra={"channel_id": channel.pk, "status": status})
        return False
    return _apply(reply, status, _at(timestamp), error)


def watermark_record(*, channel: Channel, participant: str, status: str, watermark: Any) -> int:
    """Messenger's ``delivery``/``read`` watermark: every reply to ``participant`` sent before it has that status.
    Returns how many replies changed."""
    try:
        before = datetime.fromtimestamp(int(watermark) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return 0
    replies = _replies(channel, participant).filter(created_at__lte=before, metadata__has_key="platform_ids")[
        :RECENT_REPLIES
    ]
    return sum(_apply(reply, status, _at(watermark), "") for reply in replies)

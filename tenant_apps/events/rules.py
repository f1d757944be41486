"""Channel rules for messages the bot starts (scheduled messages, broadcasts, trigger messages): a platform may
refuse some, e.g. WhatsApp only lets a business write freely within 24 hours of the person's last message.

A rule gets the participant, the chatbot and the time and returns why the message must be skipped, or None. The
channels app may register its own (``register_channel_rule``) for its platforms; the one built in here is
WhatsApp's 24-hour customer-service window.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tenant_apps.conversations.enums import MessageRole, Platform
from tenant_apps.conversations.models import ChatMessage, Participant

Rule = Callable[[Participant, int, datetime], str | None]
_rules: dict[str, Rule] = {}

WHATSAPP_WINDOW = timedelta(hours=24)


def register_channel_rule(platform: str, rule: Rule) -> None:
    _rules[platform] = rule


def skip_reason(*, participant: Participant, chatbot_id: int, now: datetime) -> str | None:
    rule = _rules.get(participant.platform)
    return rule(participant, chatbot_id, now) if rule is not None else None


def whatsapp_window(participant: Participant, chatbot_id: int, now: datetime) -> str | None:
    last = (
        ChatMessage.objects.filter(
            session__participant=participant, session__chatbot_id=chatbot_id, role=MessageRole.USER, hidden=False
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None or now - last > WHATSAPP_WINDOW:
        return "Outside WhatsApp's 24-hour window (no message from the participant in the last 24 hours)."
    return None


register_channel_rule(Platform.WHATSAPP, whatsapp_window)

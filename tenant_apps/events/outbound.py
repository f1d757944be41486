"""The one way the bot starts talking: a message nobody just sent it a message for (scheduled messages,
broadcasts, trigger actions).

``bot_message_send`` stores the message as the bot's in the participant's newest open session on the chatbot (or
opens one on the published version, without the seed message) and hands it to the channel's sender
(``delivery.deliver``), like a turn's reply. A sender that raises makes it ``DeliveryFailedError``: the message
stays stored (the transcript shows what was attempted) and the caller records the failure.
"""

from __future__ import annotations

import logging

from django.db import transaction

from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations import delivery, selectors, services
from tenant_apps.conversations.enums import MessageRole
from tenant_apps.conversations.models import ChatMessage, ChatSession, Participant
from tenant_apps.events.exceptions import DeliveryFailedError, InvalidStateError

logger = logging.getLogger(__name__)

MAX_TEXT = 4_000


def bot_message_send(
    *,
    chatbot: Chatbot,
    participant: Participant,
    text: str,
    origin: str,
    session: ChatSession | None = None,
) -> ChatMessage:
    """Store ``text`` as the bot's message to ``participant`` and deliver it on their channel. ``origin`` (e.g.
    "scheduled", "broadcast", "trigger") goes in the message metadata; such messages fire no "new bot message"
    trigger (a trigger answering its own messages would loop). Raises ``InvalidStateError`` when the chatbot has
    no published version and no open session, ``DeliveryFailedError`` when the sender fails."""
    text = text.strip()[:MAX_TEXT]
    if not text:
        raise InvalidStateError(code="events.empty_message", message="The message is empty.")
    with transaction.atomic():
        if session is None or session.is_ended:
            session = selectors.session_latest_open(
                chatbot_id=chatbot.pk, participant_id=participant.pk, platform=participant.platform
            )
        if session is None:
            if chatbot.published_version_id is None:
                raise InvalidStateError(
                    code="events.no_published_version", message="Publish a version of the chatbot first."
                )
            session = services.session_start(
                chatbot=chatbot,
                version=chatbot.published_version,
                participant=participant,
                platform=participant.platform,
                send_seed=False,
            )
        message = ChatMessage.objects.create(
            session=session, role=MessageRole.ASSISTANT, content=text, metadata={"event_origin": origin}
        )
    message.session = session
    try:
        delivery.deliver(reply=message)
    except Exception as exc:  # the sender is the channel's code talking to a platform: record, do not crash
        logger.exception("bot_message.delivery_failed", extra={"message_id": message.pk})
        raise DeliveryFailedError(
            code="events.delivery_failed", message=f"The channel could not send it: {exc}"[:500]
        ) from exc
    return message

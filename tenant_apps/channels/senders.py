"""The sender registry's channel side: ``conversations.delivery.deliver`` calls the sender registered for a
session's platform with each committed reply. Senders only enqueue (a chat worker never waits on a platform);
``outbound`` does the sending in ``tasks.reply_send_task``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenant_apps.channels.platforms import platforms
from tenant_apps.conversations import delivery
from tenant_apps.conversations.enums import Platform

if TYPE_CHECKING:
    from tenant_apps.conversations.models import ChatMessage


def enqueue_send(reply: ChatMessage) -> None:
    from tenant_apps.channels import tasks

    tasks.reply_send_task.delay(message_id=reply.pk)


def register_all() -> None:
    """Called once at start-up (``ChannelsConfig.ready``), after the platform modules registered themselves.
    Widget replies are read by polling: no sender."""
    delivery.register_sender(Platform.API, enqueue_send)
    for spec in platforms():
        delivery.register_sender(spec.platform, enqueue_send)

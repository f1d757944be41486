"""What every channel's inbound endpoint does once the request is verified: find the channel (on the apex, through
the public ``ChannelRoute``), resume or start the participant's session on it, and store the message through
``conversations.ingress`` (verify → persist → enqueue → answer, ARCHITECTURE §4).

A platform's message id is the idempotency key: a redelivery (a webhook retried by the platform) returns the first
delivery's message, never a second turn, even when the session has ended since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction

from shared_apps.core.db import connection
from tenant_apps.channels import selectors, services
from tenant_apps.channels.models import Channel
from tenant_apps.conversations import ingress
from tenant_apps.conversations import selectors as conversation_selectors
from tenants.context import tenant_context
from tenants.selectors import channel_route_resolve


def receive(
    *, channel: Channel, platform: str, participant_id: str, name: str, inbound: ingress.Inbound
) -> ingress.Received:
    """Store one participant message that came in through ``channel`` (its chatbot must be published). The
    session is linked to the channel before the message is stored, so the reply's sender always finds it.

    One participant's deliveries on one channel are serialised until the transaction ends: a platform redelivers
    a message it got no quick answer for while the first delivery may still be storing, and a new participant's
    first messages can arrive together — without the lock both would find no session and start one each (two
    sessions, the same message twice, two replies)."""
    with transaction.atomic():
        _participant_lock(channel, participant_id)
        return _receive(channel=channel, platform=platform, participant_id=participant_id, name=name, inbound=inbound)


def _participant_lock(channel: Channel, participant_id: str) -> None:
    name = f"{connection.schema_name}:{channel.pk}:{participant_id}".encode()
    key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _receive(
    *, channel: Channel, platform: str, participant_id: str, name: str, inbound: ingress.Inbound
) -> ingress.Received:
    chatbot = channel.chatbot
    person = ingress.participant_resolve(
        ingress.ParticipantRef(platform=platform, identifier=participant_id, name=name)
    )
    if inbound.external_id is not None:
        earlier = conversation_selectors.message_by_external_id(
            chatbot_id=chatbot.pk, participant_id=person.pk, external_id=inbound.external_id
        )
        if earlier is not None:
            return ingress.Received(earlier, earlier.session, created=False)
    session, _ = ingress.session_open(
        chatbot=chatbot, participant=person, platform=platform, version=chatbot.published_version
    )
    services.channel_session_link(session_id=session.pk, channel=channel)
    return ingress.message_receive(session=session, inbound=inbound)


@contextmanager
def routed_channel(*, kind: str, external_id: str) -> Iterator[Channel | None]:
    """On the apex (one global webhook per platform): the channel ``external_id`` routes to, inside its team's
    schema; None (in public) when nothing routes there, the team is not active or the channel is gone."""
    route = channel_route_resolve(platform=kind, external_id=str(external_id)[:255]) if external_id else None
    if route is None or not route.team.is_active:
        yield None
        return
    with tenant_context(route.team):
        yield selectors.channel_with_bot(channel_id=route.channel_id, kind=kind)


def is_published(channel: Any) -> bool:
    chatbot = channel.chatbot
    return chatbot.published_version_id is not None and not chatbot.is_archived

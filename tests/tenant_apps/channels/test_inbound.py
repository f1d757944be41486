"""What every channel's inbound endpoint shares: a participant's deliveries on a channel never race each other."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from tenant_apps.channels import inbound, services
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.conversations import ingress
from tenant_apps.conversations.enums import Platform
from tenants.context import tenant_context
from tenants.models import Team


@pytest.fixture
def committed_channel(django_db_setup: None, committed: None, fake_llm: Any) -> Iterator[Any]:
    """Team A's committed, published chatbot with a custom API channel (other connections see it); removed after."""
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenant_apps.pipelines.models import Pipeline
    from tests.factories.providers import llm_provider

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        llm = llm_provider(base_url=fake_llm.openai_base_url, name="Inbound race LLM")
        llm.custom_models.create(name="fake-model")
        bot = chatbot_create(name="Inbound race bot", created_by=None)
        version_create(chatbot=bot, actor=None, publish=True)
        bot.refresh_from_db()
        channel = services.channel_create(chatbot=bot, kind=ChannelKind.CUSTOM_API, name="Race")
    try:
        yield team, channel
    finally:
        with tenant_context(team):
            services.channel_delete(channel=channel)
            ChatSession.objects.filter(chatbot=bot).delete()
            Participant.objects.filter(identifier__startswith="race-").delete()
            Chatbot.objects.filter(pk=bot.pk).update(published_version=None)
            bot.versions.all().delete()
            Chatbot.objects.filter(pk=bot.pk).delete()
            Pipeline.objects.filter(name__startswith=bot.name).delete()
            llm.delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()


def test_a_redelivery_racing_its_first_delivery_stores_one_message_in_one_session(committed_channel, monkeypatch):
    """Two deliveries of a message at once (a platform retrying an answer it has not had yet) from a participant
    with no open session: both look for the session while neither has started one. The second waits for the first
    and is recognised as the same message: one session, one message, one turn."""
    from tenant_apps.conversations import services as conversation_services
    from tenant_apps.conversations.models import ChatMessage, ChatSession

    team, channel = committed_channel
    start = conversation_services.session_start

    def slow_start(**kwargs: Any) -> Any:
        time.sleep(0.3)  # widen the window in which both deliveries have found no open session
        return start(**kwargs)

    with tenant_context(team):  # known from an earlier conversation, now ended
        ingress.participant_resolve(ingress.ParticipantRef(platform=Platform.API, identifier="race-1"))
    monkeypatch.setattr(conversation_services, "session_start", slow_start)
    barrier = threading.Barrier(2)
    results: list[Any] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            with tenant_context(team):
                barrier.wait(timeout=30)
                results.append(
                    inbound.receive(
                        channel=channel,
                        platform=Platform.API,
                        participant_id="race-1",
                        name="",
                        inbound=ingress.Inbound(text="hello", external_id="platform-id-1"),
                    )
                )
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sorted(received.created for received in results) == [False, True]
    with tenant_context(team):
        assert ChatSession.objects.filter(chatbot=channel.chatbot).count() == 1
        assert ChatMessage.objects.filter(external_id="platform-id-1").count() == 1

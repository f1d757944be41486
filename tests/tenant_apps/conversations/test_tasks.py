"""The turn task through a real worker: schema from the header, one reply, retries on passing provider failures."""

import time

import pytest

from tenant_apps.conversations import services
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import ChatMessage
from tenants.context import tenant_context
from tenants.models import Team
from tests.factories.conversations import say
from tests.factories.providers import llm_provider

pytestmark = pytest.mark.worker


@pytest.fixture
def committed_bot(committed, fake_llm):
    """A chatbot in team A, committed so a worker process sees it; everything is removed afterwards."""
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenant_apps.pipelines.models import Pipeline

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        provider = llm_provider(base_url=fake_llm.openai_base_url, name="Worker LLM")
        provider.custom_models.create(name="fake-model")
        bot = chatbot_create(name="Worker bot", created_by=None)
    yield team, bot
    with tenant_context(team):
        ChatSession.objects.filter(chatbot=bot).delete()
        Participant.objects.filter(identifier__startswith="worker-test").delete()
        Chatbot.objects.filter(pk=bot.pk).delete()
        Pipeline.objects.filter(pk=bot.pipeline_id).delete()
        provider.delete()
        AuditEvent.objects.filter(id__gt=last_event).delete()


def _wait_for_reply(message_id: int, seconds: float = 20) -> ChatMessage | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reply = ChatMessage.objects.filter(reply_to_id=message_id).first()
        if reply is not None:
            return reply
        time.sleep(0.1)
    return None


def test_turn_runs_in_the_worker_and_answers_once(live_worker, committed_bot, fake_llm):
    team, bot = committed_bot
    with tenant_context(team):
        participant = services.participant_get_or_create(platform=Platform.API, identifier="worker-test-1")
        session = services.session_start(chatbot=bot, version=None, participant=participant, platform=Platform.API)
        message = say(session, "ping")  # enqueues in team A's schema
        from tenant_apps.conversations.tasks import turn_process_task

        turn_process_task.delay(message_id=message.pk)  # a duplicate delivery

        reply = _wait_for_reply(message.pk)
        time.sleep(0.5)

        assert reply is not None
        assert reply.content == "Echo: ping"
        assert ChatMessage.objects.filter(reply_to_id=message.pk).count() == 1


def test_passing_provider_failure_is_retried_by_the_worker(live_worker, committed_bot, fake_llm):
    team, bot = committed_bot
    for _ in range(3):  # the LLM layer's own attempts fail; the task retries later and then succeeds
        fake_llm.error(503, "overloaded")
    with tenant_context(team):
        participant = services.participant_get_or_create(platform=Platform.API, identifier="worker-test-2")
        session = services.session_start(chatbot=bot, version=None, participant=participant, platform=Platform.API)
        message = say(session, "are you there?")

        reply = _wait_for_reply(message.pk, seconds=40)

        assert reply is not None
        assert reply.content == "Echo: are you there?"

"""A real Celery beat and worker deliver a scheduled message in the right team (beat in public fans out a tick per
active team; the worker runs each in its schema)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest

from tenants.context import tenant_context
from tenants.models import Team
from tests.fixtures_worker import ROOT, worker_env

pytestmark = pytest.mark.worker


@pytest.fixture
def scheduled_for_web_participant(django_db_setup, committed):
    """Team A: a chatbot, a web participant with an open session, a message scheduled 2 s from now (committed so
    the worker sees them; removed afterwards)."""
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create
    from tenant_apps.conversations import services
    from tenant_apps.conversations.enums import Platform
    from tenant_apps.conversations.models import ChatSession
    from tenant_apps.events import clock, scheduling
    from tenant_apps.events.enums import Origin
    from tenant_apps.pipelines.models import Pipeline

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        bot = chatbot_create(name="Beat bot", created_by=None)
        person = services.participant_get_or_create(platform=Platform.WEB, identifier="beat-test@example.com")
        session = services.session_start(chatbot=bot, version=None, participant=person, platform=Platform.WEB)
        scheduled = scheduling.scheduled_message_create(
            chatbot=bot,
            participant=person,
            text="Your reminder from beat",
            first_run_at=clock.now() + timedelta(seconds=2),
            origin=Origin.API,
        )
    yield team, session, scheduled
    with tenant_context(team):
        ChatSession.objects.filter(chatbot=bot).delete()
        person.delete()
        Chatbot.objects.filter(pk=bot.pk).delete()
        Pipeline.objects.filter(pk=bot.pipeline_id).delete()


@pytest.fixture
def live_beat(live_worker, tmp_path):
    """``celery beat`` ticking the events scheduler every second."""
    env = {**worker_env(), "EVENTS_TICK_SECONDS": "1"}
    log = tmp_path / "beat.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.fakes.worker_app",
                "beat",
                "--schedule",
                str(tmp_path / "beat-schedule"),
                "--loglevel",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield process, log
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def test_beat_and_worker_deliver_a_scheduled_message_in_its_team(scheduled_for_web_participant, live_beat):
    from tenant_apps.conversations.enums import MessageRole
    from tenant_apps.conversations.models import ChatMessage
    from tenant_apps.events.enums import AttemptResult, ScheduleStatus
    from tenant_apps.events.models import ScheduledAttempt, ScheduledMessage

    team, session, scheduled = scheduled_for_web_participant
    beat, log = live_beat

    attempt = None
    deadline = time.monotonic() + 120  # a ceiling: beat and the worker start slowly on a busy machine
    while time.monotonic() < deadline and attempt is None:
        assert beat.poll() is None, log.read_text()[-3000:]
        with tenant_context(team):
            attempt = ScheduledAttempt.objects.filter(scheduled_id=scheduled.pk).exclude(result="").first()
        time.sleep(0.5)

    assert attempt is not None, f"nothing delivered in 120 s; beat log:\n{log.read_text()[-3000:]}"
    with tenant_context(team):
        message = ChatMessage.objects.get(session=session, role=MessageRole.ASSISTANT)
        assert attempt.result == AttemptResult.DELIVERED
        assert attempt.message_id == message.pk
        assert message.content == "Your reminder from beat"
        assert ScheduledMessage.objects.get(pk=scheduled.pk).status == ScheduleStatus.DONE
        assert ScheduledAttempt.objects.filter(scheduled_id=scheduled.pk).count() == 1  # ticks every second: once
    with tenant_context(Team.objects.get(slug="bravo")):
        assert not ChatMessage.objects.filter(content="Your reminder from beat").exists()

"""The Events tab, broadcasts and the participant page, as a member uses them."""

from __future__ import annotations

from datetime import timedelta

from tenant_apps.conversations import services
from tenant_apps.conversations.enums import Platform
from tenant_apps.events import clock
from tenant_apps.events.enums import ScheduleStatus
from tenant_apps.events.models import Broadcast, EventLog, ScheduledMessage, StaticTrigger, TimeoutTrigger
from tenants.enums import Role


def test_events_tab_lists_triggers_and_the_log(chatbot, owner, client_for, team, publish, start):
    client = client_for(team, owner)

    created = client.post(
        f"/chatbots/{chatbot.pk}/events/new/",
        {
            "name": "Welcome",
            "event": "conversation_started",
            "action": "send_message_to_bot",
            "message": "Say hi",
            "is_active": "on",
        },
    )
    timeout = client.post(
        f"/chatbots/{chatbot.pk}/timeouts/new/",
        {"name": "Nudge", "delay": "24", "delay_unit": "hours", "repeat": "2", "action": "log", "is_active": "on"},
    )
    EventLog.objects.create(
        chatbot=chatbot,
        trigger_kind="static",
        trigger_id=1,
        trigger_name="Welcome",
        event="x",
        action="log",
        status="success",
        detail="Logged.",
    )
    page = client.get(f"/chatbots/{chatbot.pk}/events/")

    assert (created.status_code, timeout.status_code) == (302, 302)
    assert StaticTrigger.objects.get().params == {"message": "Say hi"}
    assert TimeoutTrigger.objects.get().delay_seconds == 24 * 3600
    assert b"Welcome" in page.content
    assert b"Nudge" in page.content
    assert b"Logged." in page.content


def test_trigger_form_shows_what_is_wrong(chatbot, owner, client_for, team):
    client = client_for(team, owner)

    response = client.post(
        f"/chatbots/{chatbot.pk}/events/new/",
        {"name": "Welcome", "event": "conversation_started", "action": "send_message_to_bot", "message": ""},
    )

    assert response.status_code == 200
    assert not StaticTrigger.objects.exists()
    assert b"alert" in response.content


def test_a_viewer_sees_the_tab_but_cannot_add(chatbot, client_for, team, make_member):
    client = client_for(team, make_member(team, Role.VIEWER))

    assert client.get(f"/chatbots/{chatbot.pk}/events/").status_code == 200
    assert client.post(f"/chatbots/{chatbot.pk}/events/new/", {"name": "x"}).status_code == 404


def test_broadcast_is_queued_and_its_page_shows_progress(
    chatbot, owner, client_for, team, django_capture_on_commit_callbacks
):
    client = client_for(team, owner)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            f"/chatbots/{chatbot.pk}/broadcasts/", {"text": "Hello all", "platforms": ["web", "telegram"]}
        )
    broadcast = Broadcast.objects.get()
    detail = client.get(response["Location"])
    partial = client.get(response["Location"], HTTP_HX_REQUEST="true")

    assert len(callbacks) == 1  # the background job
    assert broadcast.platforms == ["telegram", "web"]
    assert b"broadcast-progress" in detail.content
    assert b'hx-trigger="every 2s"' in partial.content


def test_participant_page_schedules_and_cancels(chatbot, owner, client_for, team, publish, start, participant):
    publish()
    start()
    client = client_for(team, owner)
    at = (clock.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    scheduled = client.post(
        f"/participants/{participant.pk}/",
        {
            "chatbot": chatbot.pk,
            "text": "Reminder",
            "first_run_at": at,
            "interval": "1",
            "unit": "days",
            "max_runs": "3",
        },
    )
    row = ScheduledMessage.objects.get()
    page = client.get(f"/participants/{participant.pk}/")
    cancelled = client.post(f"/participants/{participant.pk}/scheduled/{row.public_id}/cancel/")

    row.refresh_from_db()
    assert scheduled.status_code == 302
    assert b"Reminder" in page.content
    assert cancelled.status_code == 302
    assert row.status == ScheduleStatus.CANCELLED


def test_participant_page_lists_only_chatbots_they_talked_to(chatbot, owner, client_for, team):
    person = services.participant_get_or_create(platform=Platform.TELEGRAM, identifier="555")
    client = client_for(team, owner)

    page = client.get(f"/participants/{person.pk}/")

    assert page.status_code == 200
    assert b"schedule-form" not in page.content  # no conversation yet: nothing to schedule from

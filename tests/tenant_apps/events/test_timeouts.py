"""Timeout triggers on an injected clock: due after the participant's silence, repeated up to K times, re-armed by
their next message, counted from the first message when asked."""

from __future__ import annotations

from datetime import timedelta

from tenant_apps.conversations import hooks, services
from tenant_apps.events import firing
from tenant_apps.events.enums import ActionType
from tenant_apps.events.models import EventLog, TimeoutWatch
from tenant_apps.events.services import timeout_trigger_save
from tests.factories.conversations import say


def _timeout(chatbot, *, delay=60, repeat=1, first=False, action=ActionType.LOG):
    return timeout_trigger_save(
        chatbot=chatbot,
        name="Nudge",
        delay_seconds=delay,
        from_first_message=first,
        repeat=repeat,
        action=action,
        params={},
    )


def _message(session, text):
    message = say(session, text)
    firing.event_handle(session_id=session.pk, kind=hooks.ConversationEvent.PARTICIPANT_MESSAGE, message_id=message.pk)
    return message


def test_fires_after_the_delay_of_silence_and_repeats_up_to_k_times(chatbot, publish, start):
    _timeout(chatbot, delay=60, repeat=2)
    publish()
    session = start()
    sent = _message(session, "hello").created_at

    assert firing.timeouts_run_due(now=sent + timedelta(seconds=59)) == 0
    assert firing.timeouts_run_due(now=sent + timedelta(seconds=60)) == 1
    assert firing.timeouts_run_due(now=sent + timedelta(seconds=61)) == 0  # not due again yet
    assert firing.timeouts_run_due(now=sent + timedelta(seconds=120)) == 1
    assert firing.timeouts_run_due(now=sent + timedelta(days=1)) == 0  # fired twice: done

    assert EventLog.objects.filter(event="timeout").count() == 2


def test_a_new_message_starts_the_count_again(chatbot, publish, start):
    _timeout(chatbot, delay=60)
    publish()
    session = start()
    first = _message(session, "one").created_at
    TimeoutWatch.objects.update(anchor_at=first - timedelta(seconds=30), due_at=first + timedelta(seconds=30))

    second = _message(session, "two").created_at

    assert firing.timeouts_run_due(now=first + timedelta(seconds=31)) == 0
    assert firing.timeouts_run_due(now=second + timedelta(seconds=60)) == 1


def test_counted_from_the_first_message_ignores_later_ones(chatbot, publish, start):
    _timeout(chatbot, delay=60, first=True)
    publish()
    session = start()
    first = _message(session, "one").created_at
    TimeoutWatch.objects.update(anchor_at=first - timedelta(seconds=30), due_at=first + timedelta(seconds=30))

    _message(session, "two")

    assert firing.timeouts_run_due(now=first + timedelta(seconds=31)) == 1


def test_an_ended_session_disarms_its_timeouts(chatbot, publish, start):
    _timeout(chatbot, delay=60)
    publish()
    session = start()
    sent = _message(session, "hello").created_at
    services.session_end(session=session)

    assert firing.timeouts_run_due(now=sent + timedelta(minutes=5)) == 0
    assert TimeoutWatch.objects.get().due_at is None


def test_a_timeout_that_ends_the_conversation_fires_ended_by_timeout(
    chatbot, publish, start, eager_tasks, django_capture_on_commit_callbacks
):
    from tenant_apps.events.enums import StaticEvent
    from tenant_apps.events.services import static_trigger_save

    _timeout(chatbot, delay=60, action=ActionType.END_CONVERSATION)
    static_trigger_save(
        chatbot=chatbot, name="Bye", event=StaticEvent.ENDED_BY_TIMEOUT, action=ActionType.LOG, params={}
    )
    publish()
    session = start()
    sent = _message(session, "hello").created_at

    with django_capture_on_commit_callbacks(execute=True):
        firing.timeouts_run_due(now=sent + timedelta(seconds=60))

    assert list(EventLog.objects.order_by("id").values_list("event", "detail")) == [
        ("timeout", "Ended the conversation."),
        ("ended_by_timeout", "Logged."),
    ]


def test_a_run_missed_by_downtime_fires_once(chatbot, publish, start):
    _timeout(chatbot, delay=60, repeat=5)
    publish()
    session = start()
    sent = _message(session, "hello").created_at

    assert firing.timeouts_run_due(now=sent + timedelta(hours=3)) == 1
    assert TimeoutWatch.objects.get().due_at == sent + timedelta(hours=3, seconds=60)

"""Static triggers: frozen into versions, fired by conversation events (one per event kind), each action."""

from __future__ import annotations

import pytest

from tenant_apps.chatbots.services import chatbot_revert, version_create
from tenant_apps.conversations import hooks, services, turns
from tenant_apps.conversations.enums import MessageRole, SessionStatus
from tenant_apps.conversations.models import ChatMessage
from tenant_apps.events import firing, listeners, triggers
from tenant_apps.events.enums import ActionType, LogStatus, Origin, StaticEvent
from tenant_apps.events.exceptions import InvalidStateError
from tenant_apps.events.models import EventLog, ScheduledMessage, StaticTrigger
from tenant_apps.events.services import static_trigger_save
from tests.factories.conversations import say


def _trigger(chatbot, event, action=ActionType.LOG, **params):
    return static_trigger_save(chatbot=chatbot, name=f"On {event}", event=event, action=action, params=params)


def test_a_version_freezes_the_triggers_and_only_the_published_copy_fires(chatbot, owner, publish, start):
    trigger = _trigger(chatbot, StaticEvent.CONVERSATION_STARTED)
    version = publish()
    static_trigger_save(
        chatbot=chatbot,
        trigger=trigger,
        name="Renamed",
        event=StaticEvent.BOT_MESSAGE,
        action=ActionType.LOG,
        params={},
    )

    frozen = triggers.parse(version.snapshot)

    assert [(t.id, t.name, t.event) for t in frozen.static] == [
        (trigger.pk, "On conversation_started", "conversation_started")
    ]
    session = start()
    assert firing.event_handle(session_id=session.pk, kind=hooks.ConversationEvent.SESSION_STARTED) == 1
    assert EventLog.objects.get().trigger_name == "On conversation_started"


def test_revert_puts_the_versions_triggers_back(chatbot, owner, publish):
    kept = _trigger(chatbot, StaticEvent.CONVERSATION_STARTED)
    version = publish()
    StaticTrigger.objects.filter(pk=kept.pk).delete()
    _trigger(chatbot, StaticEvent.BOT_MESSAGE)

    chatbot_revert(chatbot=chatbot, version=version, actor=owner)

    assert list(StaticTrigger.objects.filter(chatbot=chatbot).values_list("pk", "event")) == [
        (kept.pk, "conversation_started")
    ]


def test_the_listener_costs_no_query_when_nothing_listens(chatbot, publish, start, django_assert_num_queries):
    publish()
    session = start()
    assert session.version is not None  # loaded, as the send and the turn have it

    with django_assert_num_queries(0):
        listeners.on_conversation_event(hooks.Occurrence(hooks.ConversationEvent.PARTICIPANT_MESSAGE, session))


def _fired(event):
    return list(EventLog.objects.filter(event=event).values_list("status", flat=True))


def test_conversation_started_and_participant_joined(
    chatbot, publish, start, eager_tasks, django_capture_on_commit_callbacks
):
    _trigger(chatbot, StaticEvent.CONVERSATION_STARTED)
    _trigger(chatbot, StaticEvent.PARTICIPANT_JOINED)
    publish()

    with django_capture_on_commit_callbacks(execute=True):
        start()
        start()

    assert _fired(StaticEvent.CONVERSATION_STARTED) == [LogStatus.SUCCESS] * 2
    assert _fired(StaticEvent.PARTICIPANT_JOINED) == [LogStatus.SUCCESS]  # the first session only


def test_new_participant_message_and_new_bot_message(
    chatbot, publish, start, fake_llm, eager_tasks, django_capture_on_commit_callbacks
):
    _trigger(chatbot, StaticEvent.PARTICIPANT_MESSAGE)
    _trigger(chatbot, StaticEvent.BOT_MESSAGE)
    publish()
    session = start()
    fake_llm.reply("Hello there")

    with django_capture_on_commit_callbacks(execute=True):
        say(session, "Hi")  # the turn runs eagerly and its reply is delivered

    assert _fired(StaticEvent.PARTICIPANT_MESSAGE) == [LogStatus.SUCCESS]
    assert _fired(StaticEvent.BOT_MESSAGE) == [LogStatus.SUCCESS]


@pytest.mark.parametrize(
    ("reason", "event"),
    [
        pytest.param(hooks.EndReason.MANUAL, StaticEvent.ENDED_MANUALLY, id="manually"),
        pytest.param(hooks.EndReason.PARTICIPANT, StaticEvent.ENDED_BY_PARTICIPANT, id="by-participant"),
        pytest.param(hooks.EndReason.TIMEOUT, StaticEvent.ENDED_BY_TIMEOUT, id="by-timeout"),
        pytest.param(hooks.EndReason.BOT, StaticEvent.ENDED_BY_BOT, id="by-bot"),
    ],
)
def test_conversation_ended_fires_the_trigger_for_who_ended_it(
    chatbot, publish, start, reason, event, eager_tasks, django_capture_on_commit_callbacks
):
    for each in (StaticEvent.ENDED_MANUALLY, StaticEvent.ENDED_BY_PARTICIPANT, StaticEvent.ENDED_BY_TIMEOUT):
        _trigger(chatbot, each)
    _trigger(chatbot, StaticEvent.ENDED_BY_BOT)
    publish()
    session = start()

    with django_capture_on_commit_callbacks(execute=True):
        services.session_end(session=session, reason=reason)
        services.session_end(session=session, reason=reason)  # ending twice tells nobody twice

    assert list(EventLog.objects.values_list("event", flat=True)) == [event]


def test_the_bots_end_session_tool_fires_ended_by_bot(
    chatbot, fake_provider, publish, start, fake_llm, eager_tasks, django_capture_on_commit_callbacks
):
    from tests.factories.conversations import llm_node, set_graph
    from tests.factories.pipelines import chain

    set_graph(chatbot, chain(llm_node(fake_provider, tools=["end_session"])))
    _trigger(chatbot, StaticEvent.ENDED_BY_BOT)
    publish()
    session = start()
    fake_llm.tool_call("end_session", {}).reply("Goodbye")

    with django_capture_on_commit_callbacks(execute=True):
        say(session, "bye")

    session.refresh_from_db()
    assert session.status == SessionStatus.ENDED
    assert _fired(StaticEvent.ENDED_BY_BOT) == [LogStatus.SUCCESS]


# ------------------------------------------------------------------------------------------------------ actions


def test_action_end_conversation(chatbot, publish, start):
    _trigger(chatbot, StaticEvent.CONVERSATION_STARTED, ActionType.END_CONVERSATION)
    publish()
    session = start()

    firing.event_handle(session_id=session.pk, kind=hooks.ConversationEvent.SESSION_STARTED)

    session.refresh_from_db()
    assert session.status == SessionStatus.ENDED
    assert EventLog.objects.get().detail == "Ended the conversation."


def test_action_send_message_to_bot_answers_the_participant_through_a_normal_turn(chatbot, publish, start, fake_llm):
    _trigger(chatbot, StaticEvent.CONVERSATION_STARTED, ActionType.SEND_MESSAGE_TO_BOT, message="Greet them")
    publish()
    session = start()
    fake_llm.reply("Welcome!")

    firing.event_handle(session_id=session.pk, kind=hooks.ConversationEvent.SESSION_STARTED)
    prompt = ChatMessage.objects.get(session=session, role=MessageRole.USER)
    reply = turns.turn_process(message_id=prompt.pk)

    assert (prompt.content, prompt.hidden) == ("Greet them", True)
    assert reply is not None
    assert reply.content == "Welcome!"
    assert "Greet them" in str(fake_llm.last_request.json)


def test_action_start_pipeline_sends_its_output(chatbot, owner, publish, start, fake_llm):
    from tenant_apps.chatbots.services import chatbot_create

    other = chatbot_create(name="Summariser", created_by=owner)
    _trigger(chatbot, StaticEvent.CONVERSATION_STARTED, ActionType.START_PIPELINE, pipeline_id=other.pipeline_id)
    publish()
    session = start()
    fake_llm.reply("Here is a summary")

    firing.event_handle(session_id=session.pk, kind=hooks.ConversationEvent.SESSION_STARTED)

    sent = ChatMessage.objects.get(session=session, role=MessageRole.ASSISTANT)
    assert (sent.content, sent.metadata) == ("Here is a summary", {"event_origin": "trigger"})
    assert EventLog.objects.get().status == LogStatus.SUCCESS


def test_action_schedule_message(chatbot, publish, start, participant):
    _trigger(
        chatbot,
        StaticEvent.CONVERSATION_STARTED,
        ActionType.SCHEDULE_MESSAGE,
        message="Checking in",
        delay_seconds=3600,
    )
    publish()
    session = start()

    firing.event_handle(session_id=session.pk, kind=hooks.ConversationEvent.SESSION_STARTED)

    scheduled = ScheduledMessage.objects.get()
    assert (scheduled.participant, scheduled.text, scheduled.origin) == (participant, "Checking in", Origin.TRIGGER)


def test_a_failing_action_is_logged_as_a_failure(chatbot, publish, start):
    _trigger(chatbot, StaticEvent.CONVERSATION_STARTED, ActionType.SEND_MESSAGE_TO_BOT, message="x")
    publish()
    session = start()
    services.session_end(session=session)
    chatbot.published_version = None  # nothing to start a new session on
    chatbot.save(update_fields=["published_version"])

    firing.event_handle(session_id=session.pk, kind=hooks.ConversationEvent.SESSION_STARTED)

    log = EventLog.objects.get(event=StaticEvent.CONVERSATION_STARTED)
    assert (log.status, log.detail) == (LogStatus.FAILURE, "The chatbot has no version.")


@pytest.mark.parametrize(
    ("action", "params"),
    [
        pytest.param(ActionType.SEND_MESSAGE_TO_BOT, {}, id="message-missing"),
        pytest.param(ActionType.SEND_MESSAGE_TO_BOT, {"message": "x" * 2001}, id="message-too-long"),
        pytest.param(ActionType.LOG, {"unexpected": 1}, id="unknown-param"),
        pytest.param(ActionType.START_PIPELINE, {"pipeline_id": 999999}, id="no-such-pipeline"),
        pytest.param(
            ActionType.SCHEDULE_MESSAGE, {"message": "x", "delay_seconds": 1, "interval": 2}, id="half-repeat"
        ),
        pytest.param("nonsense", {}, id="unknown-action"),
    ],
)
def test_bad_action_settings_are_refused(chatbot, action, params):
    with pytest.raises(InvalidStateError):
        _trigger(chatbot, StaticEvent.CONVERSATION_STARTED, action, **params)


def test_a_new_version_is_needed_before_edits_fire(chatbot, owner, publish, start):
    publish()
    _trigger(chatbot, StaticEvent.CONVERSATION_STARTED)
    session = start()

    assert firing.event_handle(session_id=session.pk, kind=hooks.ConversationEvent.SESSION_STARTED) == 0
    version_create(chatbot=chatbot, actor=owner, publish=True)
    assert firing.event_handle(session_id=start().pk, kind=hooks.ConversationEvent.SESSION_STARTED) == 1

from decimal import Decimal

import pytest
from django.db import DataError

from shared_apps.core.exceptions import InvalidStateError, PermissionDeniedError
from tenant_apps.chatbots.models import ConsentForm
from tenant_apps.chatbots.services import chatbot_update, version_create
from tenant_apps.conversations import services
from tenant_apps.conversations.enums import MessageRole, Platform, SessionStatus, TraceStatus, TurnStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession, HistoryMessage, ParticipantData, Trace
from tenant_apps.pipelines.services import pipeline_update_graph
from tests.factories.pipelines import chain, node


@pytest.fixture
def member_session(chatbot, owner):
    participant = services.participant_for_member(user=owner)
    return services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)


def _set_graph(chatbot, graph):
    pipeline = chatbot.pipeline
    pipeline_update_graph(pipeline=pipeline, graph=graph, base_revision=pipeline.edit_revision)
    chatbot.refresh_from_db()


def _llm(provider, **params):
    return node(
        "llm",
        "llm",
        "Answer",
        llm_provider_id=provider.pk,
        llm_model="fake-model",
        prompt="Be kind.",
        history_type=params.pop("history_type", "global"),
        **params,
    )


def test_message_receive_persists_and_enqueues_after_commit(
    member_session, django_capture_on_commit_callbacks, monkeypatch
):
    from tenant_apps.conversations import tasks

    enqueued = []
    monkeypatch.setattr(tasks.turn_process_task, "delay", lambda **kw: enqueued.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        message = services.message_receive(session=member_session, content="  Hello there  ")

    assert message.content == "Hello there"
    assert message.turn_status == TurnStatus.PENDING
    assert enqueued == [{"message_id": message.pk}]


def test_turn_process_writes_reply_trace_and_usage(member_session, fake_llm):
    message = services.message_receive(session=member_session, content="What is 2+2?")

    reply = services.turn_process(message_id=message.pk)

    assert reply.role == MessageRole.ASSISTANT
    assert reply.content == "Echo: What is 2+2?"
    assert reply.reply_to_id == message.pk
    trace = Trace.objects.get(message=message)
    assert trace.status == TraceStatus.SUCCESS
    assert trace.node_path == [
        "start",
        next(n["id"] for n in member_session.chatbot.pipeline.graph["nodes"] if n["type"] == "llm"),
        "end",
    ]
    assert trace.input_tokens > 0
    assert trace.output_tokens == 4
    assert [n["node_type"] for n in trace.nodes] == ["start", "llm", "end"]
    message.refresh_from_db()
    assert message.turn_status == TurnStatus.DONE


def test_turn_delivered_twice_produces_one_reply(member_session, fake_llm):
    message = services.message_receive(session=member_session, content="Hi")

    first = services.turn_process(message_id=message.pk)
    second = services.turn_process(message_id=message.pk)

    assert first.pk == second.pk
    assert ChatMessage.objects.filter(reply_to=message).count() == 1
    assert len([r for r in fake_llm.requests if r.path.endswith("/chat/completions")]) == 1


def test_turn_claimed_by_a_lost_worker_is_run_again_after_the_stale_window(member_session, fake_llm):
    from datetime import timedelta

    from django.utils import timezone

    message = services.message_receive(session=member_session, content="Hi")
    ChatMessage.objects.filter(pk=message.pk).update(
        turn_status=TurnStatus.PROCESSING, turn_started_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.turn_process(message_id=message.pk) is None  # someone else is on it

    ChatMessage.objects.filter(pk=message.pk).update(turn_started_at=timezone.now() - timedelta(minutes=10))
    reply = services.turn_process(message_id=message.pk)

    assert reply is not None
    assert reply.content == "Echo: Hi"


def test_llm_failure_gives_an_apology_and_an_error_trace_naming_the_node(member_session, fake_llm):
    fake_llm.error(401, "Incorrect API key provided")
    message = services.message_receive(session=member_session, content="Hello?")

    reply = services.turn_process(message_id=message.pk)

    assert reply.content == services.APOLOGY
    assert reply.metadata == {"error": True}
    trace = Trace.objects.get(message=message)
    assert trace.status == TraceStatus.ERROR
    llm_id = next(n["id"] for n in member_session.chatbot.pipeline.graph["nodes"] if n["type"] == "llm")
    assert trace.error_node_id == llm_id
    assert trace.error
    message.refresh_from_db()
    assert message.turn_status == TurnStatus.FAILED


def test_global_history_reaches_the_model_on_the_next_turn(member_session, fake_llm):
    first = services.message_receive(session=member_session, content="My name is Ada.")
    services.turn_process(message_id=first.pk)
    second = services.message_receive(session=member_session, content="Who am I?")

    services.turn_process(message_id=second.pk)

    sent = fake_llm.last_request.json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "My name is Ada."
    assert sent[2]["content"] == "Echo: My name is Ada."
    assert sent[3]["content"] == "Who am I?"


def test_node_history_is_stored_per_node_and_reused(chatbot, fake_provider, owner, fake_llm):
    _set_graph(chatbot, chain(_llm(fake_provider, history_type="node")))
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    first = services.message_receive(session=session, content="one")
    services.turn_process(message_id=first.pk)
    second = services.message_receive(session=session, content="two")

    services.turn_process(message_id=second.pk)

    rows = list(HistoryMessage.objects.filter(session=session, mode="node", name="llm").values_list("role", "content"))
    assert rows == [("user", "one"), ("assistant", "Echo: one"), ("user", "two"), ("assistant", "Echo: two")]
    assert [m["content"] for m in fake_llm.last_request.json["messages"][1:]] == ["one", "Echo: one", "two"]


def test_tools_persist_participant_data_session_state_and_end_the_session(chatbot, fake_provider, owner, fake_llm):
    _set_graph(
        chatbot,
        chain(_llm(fake_provider, tools=["set_participant_data", "set_session_state", "end_session"])),
    )
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    fake_llm.tool_calls(
        [
            {"name": "set_participant_data", "arguments": {"key": "name", "value": "Ada"}},
            {"name": "set_session_state", "arguments": {"key": "topic", "value": "math"}},
            {"name": "end_session", "arguments": {}},
        ]
    ).reply("Goodbye, Ada!")
    message = services.message_receive(session=session, content="I'm Ada, bye")

    reply = services.turn_process(message_id=message.pk)

    assert reply.content == "Goodbye, Ada!"
    session.refresh_from_db()
    assert session.state == {"topic": "math"}
    assert session.status == SessionStatus.ENDED
    assert ParticipantData.objects.get(participant=session.participant, chatbot=chatbot).data == {"name": "Ada"}
    trace = Trace.objects.get(message=message)
    assert trace.state_changes["participant_data"][0]["path"] == "name"
    with pytest.raises(InvalidStateError) as excinfo:
        services.message_receive(session=session, content="still there?")
    assert excinfo.value.code == "session.ended"


def test_failed_turn_keeps_state_and_history_unchanged(chatbot, fake_provider, owner, fake_llm):
    _set_graph(chatbot, chain(_llm(fake_provider, history_type="node", tools=["set_session_state"])))
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    fake_llm.tool_call("set_session_state", {"key": "x", "value": 1}).error(400, "bad request")
    message = services.message_receive(session=session, content="hi")

    services.turn_process(message_id=message.pk)

    session.refresh_from_db()
    assert session.state == {}
    assert not HistoryMessage.objects.filter(session=session).exists()


def test_seed_message_is_sent_at_start_and_its_answer_opens_the_chat(chatbot, owner, fake_llm):
    chatbot_update(chatbot=chatbot, actor=owner, seed_message="Introduce yourself.")
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    seed = ChatMessage.objects.get(session=session)
    assert seed.hidden
    assert seed.turn_status == TurnStatus.PENDING

    reply = services.turn_process(message_id=seed.pk)

    assert reply.content == "Echo: Introduce yourself."
    visible = [m.content for m in session.messages.filter(hidden=False)]
    assert visible == ["Echo: Introduce yourself."]


def test_consent_blocks_the_pipeline_until_given(chatbot, owner, fake_llm):
    form = ConsentForm.objects.create(name="Study", consent_text="We record this chat.", confirmation_text="yes")
    chatbot_update(chatbot=chatbot, actor=owner, consent_form=form, seed_message="Hello!")
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    assert session.status == SessionStatus.PENDING_CONSENT
    assert not session.messages.exists()

    message = services.message_receive(session=session, content="What is this?")
    assert message.turn_status == TurnStatus.NONE
    prompt = message.reply
    assert prompt.role == MessageRole.SYSTEM
    assert "We record this chat." in prompt.content
    assert "yes" in prompt.content

    services.message_receive(session=session, content="YES")
    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE
    assert session.consent_given_at is not None
    assert session.messages.filter(hidden=True, content="Hello!", turn_status=TurnStatus.PENDING).exists()
    assert fake_llm.requests == []


def test_participant_allowlist_refuses_unknown_participants(chatbot, owner):
    chatbot_update(chatbot=chatbot, actor=owner, participant_allowlist="ann@example.com")
    version = version_create(chatbot=chatbot, actor=owner)
    stranger = services.participant_get_or_create(platform=Platform.PUBLIC_LINK, identifier="bob@example.com")
    allowed = services.participant_get_or_create(platform=Platform.PUBLIC_LINK, identifier="Ann@example.com")

    with pytest.raises(PermissionDeniedError) as excinfo:
        services.session_start(chatbot=chatbot, version=version, participant=stranger, platform=Platform.PUBLIC_LINK)
    session = services.session_start(
        chatbot=chatbot, version=version, participant=allowed, platform=Platform.PUBLIC_LINK
    )

    assert excinfo.value.code == "session.not_allowed"
    assert session.version == version
    member = services.participant_for_member(user=owner)
    assert services.session_start(chatbot=chatbot, version=version, participant=member, platform=Platform.WEB)


def test_redelivered_platform_message_is_stored_once(member_session):
    first = services.message_receive(session=member_session, content="hi", external_id="platform-1")

    again = services.message_receive(session=member_session, content="hi", external_id="platform-1")

    assert again.pk == first.pk
    assert member_session.messages.filter(external_id="platform-1").count() == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [pytest.param("   ", "message.empty", id="empty"), pytest.param("x" * 20_001, "message.too_long", id="too-long")],
)
def test_message_receive_rejects_bad_input(member_session, content, code):
    with pytest.raises(InvalidStateError) as excinfo:
        services.message_receive(session=member_session, content=content)

    assert excinfo.value.code == code
    assert not member_session.messages.exists()


def test_session_on_a_version_runs_the_frozen_pipeline(chatbot, fake_provider, owner, fake_llm):
    version = version_create(chatbot=chatbot, actor=owner)
    _set_graph(chatbot, chain(node("tpl", "template", "Fixed", template_string="working copy answer")))
    session = services.session_start(
        chatbot=chatbot, version=version, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    working = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )

    on_version = services.turn_process(message_id=services.message_receive(session=session, content="hi").pk)
    on_working = services.turn_process(message_id=services.message_receive(session=working, content="hi").pk)

    assert on_version.content == "Echo: hi"
    assert on_working.content == "working copy answer"
    assert Trace.objects.get(message=on_version.reply_to).version_number == version.number


def test_tags_and_comments_on_messages(member_session, owner):
    message = services.message_receive(session=member_session, content="hi")

    services.message_tag_add(message=message, name=" needs-review ", user=owner)
    services.message_tag_add(message=message, name="needs-review", user=owner)
    comment = services.message_comment_add(message=message, text="Check this answer", user=owner)

    assert [t.name for t in message.tags.all()] == ["needs-review"]
    assert comment.user == owner
    with pytest.raises(InvalidStateError):
        services.message_comment_add(message=message, text=" ", user=owner)
    services.message_tag_remove(message=message, tag=message.tags.get())
    assert not message.tags.exists()


def test_turn_store_is_all_or_nothing(member_session, fake_llm, monkeypatch):
    """If the database refuses the trace (here: a cost too large for its column), no reply is left behind and
    neither the message's status nor the session moved."""
    message = services.message_receive(session=member_session, content="hi")
    activity = ChatSession.objects.get(pk=member_session.pk).last_activity_at
    monkeypatch.setattr(services.pricing, "cost_of", lambda **usage: Decimal("1e12"))

    with pytest.raises(DataError):
        services.turn_process(message_id=message.pk)

    assert not ChatMessage.objects.filter(reply_to=message).exists()
    assert not Trace.objects.filter(message=message).exists()
    assert ChatMessage.objects.get(pk=message.pk).turn_status == TurnStatus.PROCESSING  # the claim, no more
    assert ChatSession.objects.get(pk=member_session.pk).last_activity_at == activity


def test_passing_provider_failure_is_retried_later_without_storing_anything(member_session, fake_llm, settings):
    from shared_apps.core.exceptions import RetryableProviderError

    settings.LLM_MAX_RETRIES = 0
    fake_llm.error(503, "overloaded")
    message = services.message_receive(session=member_session, content="Hi")

    with pytest.raises(RetryableProviderError):
        services.turn_process(message_id=message.pk, final_attempt=False)

    message.refresh_from_db()
    assert message.turn_status == TurnStatus.PENDING
    assert not ChatMessage.objects.filter(reply_to=message).exists()
    assert services.turn_process(message_id=message.pk, final_attempt=False).content == "Echo: Hi"


def test_last_attempt_answers_with_an_apology(member_session, fake_llm, settings):
    settings.LLM_MAX_RETRIES = 0
    fake_llm.error(503, "overloaded")
    message = services.message_receive(session=member_session, content="Hi")

    reply = services.turn_process(message_id=message.pk, final_attempt=True)

    assert reply.content == services.APOLOGY
    assert Trace.objects.get(message=message).error_node_id


def test_failure_after_a_side_effect_is_not_retried(chatbot, fake_provider, owner, fake_llm, settings):
    settings.LLM_MAX_RETRIES = 0
    _set_graph(
        chatbot,
        chain(
            node(
                "mail",
                "send_email",
                "Notify",
                recipient_list="ops@example.com",
                subject="New message",
                body="{{ input }}",
            ),
            _llm(fake_provider),
        ),
    )
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    fake_llm.error(503, "overloaded")
    message = services.message_receive(session=session, content="Hi")

    reply = services.turn_process(message_id=message.pk, final_attempt=False)

    assert reply.content == services.APOLOGY


def test_participant_data_carries_over_to_the_next_session_and_is_updated_in_place(
    chatbot, fake_provider, owner, fake_llm
):
    _set_graph(chatbot, chain(_llm(fake_provider, tools=["set_participant_data"])))
    participant = services.participant_for_member(user=owner)
    for key, value in (("name", "Ada"), ("city", "Paris")):
        session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
        fake_llm.tool_calls([{"name": "set_participant_data", "arguments": {"key": key, "value": value}}]).reply("ok")
        services.turn_process(message_id=services.message_receive(session=session, content=f"my {key}").pk)

    rows = ParticipantData.objects.filter(participant=participant, chatbot=chatbot)
    assert [row.data for row in rows] == [{"name": "Ada", "city": "Paris"}]


def test_stuck_turns_are_enqueued_again_and_then_answered_once(member_session, fake_llm, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.conversations import tasks

    enqueued = []
    monkeypatch.setattr(tasks.turn_process_task, "delay", lambda **kw: enqueued.append(kw["message_id"]))
    lost_enqueue = services.message_receive(session=member_session, content="lost")
    lost_worker = services.message_receive(session=member_session, content="claimed, then the worker died")
    just_sent = services.message_receive(session=member_session, content="just now")
    answered = services.message_receive(session=member_session, content="answered")
    services.turn_process(message_id=answered.pk)
    long_ago = timezone.now() - timedelta(minutes=10)
    ChatMessage.objects.filter(pk__in=[lost_enqueue.pk, lost_worker.pk, answered.pk]).update(created_at=long_ago)
    ChatMessage.objects.filter(pk=lost_worker.pk).update(turn_status=TurnStatus.PROCESSING, turn_started_at=long_ago)
    enqueued.clear()

    assert services.turns_requeue_stuck() == 2
    assert sorted(enqueued) == sorted([lost_enqueue.pk, lost_worker.pk])  # not the recent or the answered one

    for message_id in enqueued + enqueued:  # the original delivery may still arrive: still one reply each
        services.turn_process(message_id=message_id)
    assert ChatMessage.objects.filter(reply_to_id__in=enqueued).count() == 2
    assert just_sent.pk not in enqueued


def test_stuck_turn_sweep_fans_out_one_task_per_active_team(team_a, team_b, monkeypatch):
    from shared_apps.core.db import connection
    from tenant_apps.conversations import tasks

    schemas = []
    monkeypatch.setattr(tasks.turns_requeue_task, "delay", lambda: schemas.append(connection.schema_name))

    tasks.turns_requeue_dispatch_task()

    assert {"t_alpha", "t_bravo"} <= set(schemas)

"""The turn: claim, run, one write; exactly one reply per message whatever is redelivered, retried or lost."""

from decimal import Decimal

import pytest

from shared_apps.core.exceptions import InvalidStateError
from tenant_apps.chatbots.services import version_create
from tenant_apps.conversations import services, turns
from tenant_apps.conversations.enums import MessageRole, Platform, SessionStatus, TraceStatus, TurnStatus
from tenant_apps.conversations.models import ChatMessage, HistoryMessage, ParticipantData, Trace
from tests.factories.conversations import llm_node, say, set_graph
from tests.factories.pipelines import chain, node


def test_turn_process_writes_reply_trace_and_usage(member_session, fake_llm):
    message = say(member_session, "What is 2+2?")

    reply = turns.turn_process(message_id=message.pk)

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
    message = say(member_session, "Hi")

    first = turns.turn_process(message_id=message.pk)
    second = turns.turn_process(message_id=message.pk)

    assert first.pk == second.pk
    assert ChatMessage.objects.filter(reply_to=message).count() == 1
    assert len([r for r in fake_llm.requests if r.path.endswith("/chat/completions")]) == 1


def test_turn_claimed_by_a_lost_worker_is_run_again_once_its_lease_lapsed(member_session, fake_llm, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.CHAT_TURN_LEASE_SECONDS = 15
    message = say(member_session, "Hi")
    ChatMessage.objects.filter(pk=message.pk).update(
        turn_status=TurnStatus.PROCESSING, turn_started_at=timezone.now() - timedelta(seconds=10)
    )
    assert turns.turn_process(message_id=message.pk) is None  # its worker renewed the lease 10 s ago: still on it

    ChatMessage.objects.filter(pk=message.pk).update(turn_started_at=timezone.now() - timedelta(seconds=16))
    reply = turns.turn_process(message_id=message.pk)

    assert reply is not None
    assert reply.content == "Echo: Hi"


def test_turn_whose_worker_keeps_dying_is_ended_with_an_apology(member_session, fake_llm, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.CHAT_TURN_MAX_RECLAIMS = 2
    message = say(member_session, "the message that kills workers")
    long_ago = timezone.now() - timedelta(minutes=1)
    from tenant_apps.conversations import turn_leases

    for _ in range(2):  # two takeovers so far, each worker died again
        turn_leases.reclaim_count("t_alpha", message.pk)
    ChatMessage.objects.filter(pk=message.pk).update(turn_status=TurnStatus.PROCESSING, turn_started_at=long_ago)

    reply = turns.turn_process(message_id=message.pk)  # the third takeover

    assert reply.content == turns.APOLOGY
    assert not fake_llm.requests  # not run again
    trace = Trace.objects.get(message=message)
    assert trace.status == TraceStatus.ERROR
    assert "not run again" in trace.error
    assert ChatMessage.objects.get(pk=message.pk).turn_status == TurnStatus.FAILED


def test_llm_failure_gives_an_apology_and_an_error_trace_naming_the_node(member_session, fake_llm):
    fake_llm.error(401, "Incorrect API key provided")
    message = say(member_session, "Hello?")

    reply = turns.turn_process(message_id=message.pk)

    assert reply.content == turns.APOLOGY
    assert reply.metadata == {"error": True}
    trace = Trace.objects.get(message=message)
    assert trace.status == TraceStatus.ERROR
    llm_id = next(n["id"] for n in member_session.chatbot.pipeline.graph["nodes"] if n["type"] == "llm")
    assert trace.error_node_id == llm_id
    assert trace.error
    message.refresh_from_db()
    assert message.turn_status == TurnStatus.FAILED


def test_global_history_reaches_the_model_on_the_next_turn(member_session, fake_llm):
    first = say(member_session, "My name is Ada.")
    turns.turn_process(message_id=first.pk)
    second = say(member_session, "Who am I?")

    turns.turn_process(message_id=second.pk)

    sent = fake_llm.last_request.json["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "My name is Ada."
    assert sent[2]["content"] == "Echo: My name is Ada."
    assert sent[3]["content"] == "Who am I?"


def test_node_history_is_stored_per_node_and_reused(chatbot, fake_provider, owner, fake_llm):
    set_graph(chatbot, chain(llm_node(fake_provider, history_type="node")))
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    first = say(session, "one")
    turns.turn_process(message_id=first.pk)
    second = say(session, "two")

    turns.turn_process(message_id=second.pk)

    rows = list(HistoryMessage.objects.filter(session=session, mode="node", name="llm").values_list("role", "content"))
    assert rows == [("user", "one"), ("assistant", "Echo: one"), ("user", "two"), ("assistant", "Echo: two")]
    assert [m["content"] for m in fake_llm.last_request.json["messages"][1:]] == ["one", "Echo: one", "two"]


def test_tools_persist_participant_data_session_state_and_end_the_session(chatbot, fake_provider, owner, fake_llm):
    set_graph(
        chatbot,
        chain(llm_node(fake_provider, tools=["set_participant_data", "set_session_state", "end_session"])),
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
    message = say(session, "I'm Ada, bye")

    reply = turns.turn_process(message_id=message.pk)

    assert reply.content == "Goodbye, Ada!"
    session.refresh_from_db()
    assert session.state == {"topic": "math"}
    assert session.status == SessionStatus.ENDED
    assert ParticipantData.objects.get(participant=session.participant, chatbot=chatbot).data == {"name": "Ada"}
    trace = Trace.objects.get(message=message)
    assert trace.state_changes["participant_data"][0]["path"] == "name"
    with pytest.raises(InvalidStateError) as excinfo:
        say(session, "still there?")
    assert excinfo.value.code == "session.ended"


def test_failed_turn_keeps_state_and_history_unchanged(chatbot, fake_provider, owner, fake_llm):
    set_graph(chatbot, chain(llm_node(fake_provider, history_type="node", tools=["set_session_state"])))
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    fake_llm.tool_call("set_session_state", {"key": "x", "value": 1}).error(400, "bad request")
    message = say(session, "hi")

    turns.turn_process(message_id=message.pk)

    session.refresh_from_db()
    assert session.state == {}
    assert not HistoryMessage.objects.filter(session=session).exists()


def test_session_on_a_version_runs_the_frozen_pipeline(chatbot, fake_provider, owner, fake_llm):
    version = version_create(chatbot=chatbot, actor=owner)
    set_graph(chatbot, chain(node("tpl", "template", "Fixed", template_string="working copy answer")))
    session = services.session_start(
        chatbot=chatbot, version=version, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    working = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )

    on_version = turns.turn_process(message_id=say(session, "hi").pk)
    on_working = turns.turn_process(message_id=say(working, "hi").pk)

    assert on_version.content == "Echo: hi"
    assert on_working.content == "working copy answer"
    assert Trace.objects.get(message=on_version.reply_to).version_number == version.number


def test_turn_store_is_all_or_nothing(member_session, fake_llm, monkeypatch):
    """If the database refuses the trace (here: a cost too large for its column), none of the turn's result is left
    behind: the reply, state and session fields the store would have written are not there."""
    message = say(member_session, "hi")
    monkeypatch.setattr(turns.pricing, "cost_of", lambda **usage: Decimal("1e12"))

    reply = turns.turn_process(message_id=message.pk)

    assert not ChatMessage.objects.filter(reply_to=message, content="Echo: hi").exists()
    assert reply.content == turns.APOLOGY


def test_poison_turn_stores_the_apology_and_an_error_trace_once_and_is_never_run_again(
    member_session, fake_llm, monkeypatch
):
    """PostgreSQL refuses the turn's result (a non-transient failure): the participant gets the apology, the trace
    says why, the turn is failed, and a redelivery or a sweep never runs it (or its LLM call) again."""
    from datetime import timedelta

    from django.utils import timezone

    message = say(member_session, "hi")
    monkeypatch.setattr(turns.pricing, "cost_of", lambda **usage: Decimal("1e12"))

    reply = turns.turn_process(message_id=message.pk)
    ChatMessage.objects.filter(pk=message.pk).update(turn_started_at=timezone.now() - timedelta(hours=1))
    again = turns.turn_process(message_id=message.pk)  # a late redelivery

    assert reply.content == turns.APOLOGY
    assert reply.metadata == {"error": True}
    assert again.pk == reply.pk
    trace = Trace.objects.get(message=message)
    assert trace.status == TraceStatus.ERROR
    assert "could not be stored (DataError" in trace.error
    assert trace.output_tokens == 2  # what the model spent is kept
    assert ChatMessage.objects.get(pk=message.pk).turn_status == TurnStatus.FAILED
    assert ChatMessage.objects.filter(reply_to=message).count() == 1
    assert len([r for r in fake_llm.requests if r.path.endswith("/chat/completions")]) == 1
    assert turns.turns_requeue_stuck(enqueue=lambda message_id: pytest.fail("a failed turn was swept")) == 0


def test_passing_provider_failure_is_retried_later_without_storing_anything(member_session, fake_llm, settings):
    from shared_apps.core.exceptions import RetryableProviderError

    settings.LLM_MAX_RETRIES = 0
    fake_llm.error(503, "overloaded")
    message = say(member_session, "Hi")

    with pytest.raises(RetryableProviderError):
        turns.turn_process(message_id=message.pk, final_attempt=False)

    message.refresh_from_db()
    assert message.turn_status == TurnStatus.PENDING
    assert not ChatMessage.objects.filter(reply_to=message).exists()
    assert turns.turn_process(message_id=message.pk, final_attempt=False).content == "Echo: Hi"


def test_turn_over_its_time_limit_stores_the_apology_and_a_trace_naming_the_node(member_session, fake_llm, settings):
    settings.CHAT_TURN_SOFT_LIMIT = 1
    fake_llm.reply("too late", delay=4)
    message = say(member_session, "Hi")

    reply = turns.turn_process(message_id=message.pk)

    assert reply.content == turns.APOLOGY
    trace = Trace.objects.get(message=message)
    llm_id = next(n["id"] for n in member_session.chatbot.pipeline.graph["nodes"] if n["type"] == "llm")
    assert trace.error_node_id == llm_id
    assert "took longer than its limit of 1 s" in trace.error
    assert ChatMessage.objects.get(pk=message.pk).turn_status == TurnStatus.FAILED


def test_last_attempt_answers_with_an_apology(member_session, fake_llm, settings):
    settings.LLM_MAX_RETRIES = 0
    fake_llm.error(503, "overloaded")
    message = say(member_session, "Hi")

    reply = turns.turn_process(message_id=message.pk, final_attempt=True)

    assert reply.content == turns.APOLOGY
    assert Trace.objects.get(message=message).error_node_id


def test_failure_after_a_side_effect_is_retried_without_repeating_the_side_effect(
    chatbot, fake_provider, owner, fake_llm, settings
):
    from shared_apps.core.exceptions import RetryableProviderError

    settings.LLM_MAX_RETRIES = 0
    set_graph(
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
            llm_node(fake_provider),
        ),
    )
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    fake_llm.error(503, "overloaded")
    message = say(session, "Hi")

    with pytest.raises(RetryableProviderError):
        turns.turn_process(message_id=message.pk, final_attempt=False)
    reply = turns.turn_process(message_id=message.pk, final_attempt=True)

    assert reply.content == "Echo: Hi"
    from tenant_apps.pipelines.models import PipelineEmail

    assert PipelineEmail.objects.count() == 1  # queued once, by the first attempt
    mail_trace = Trace.objects.get(message=message).nodes[1]
    assert mail_trace["details"]["repeated"] == "not sent again"


def test_http_node_of_a_turn_run_again_gets_the_first_response_without_a_second_request(
    chatbot, fake_provider, owner, fake_llm, settings
):
    from shared_apps.core.exceptions import RetryableProviderError
    from tests.fakes.http_server import LoopbackServer

    settings.LLM_MAX_RETRIES = 0
    with LoopbackServer({"/hook": lambda req: (200, {}, b"booked")}) as server:
        set_graph(
            chatbot,
            chain(
                node("hook", "http_request", "Book", url=server.url("/hook"), method="POST", body="{{ input }}"),
                llm_node(fake_provider),
            ),
        )
        participant = services.participant_for_member(user=owner)
        session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
        fake_llm.error(503, "overloaded")
        message = say(session, "Hi")

        with pytest.raises(RetryableProviderError):
            turns.turn_process(message_id=message.pk, final_attempt=False)
        reply = turns.turn_process(message_id=message.pk, final_attempt=True)

        assert len(server.received) == 1
    assert reply.content == "Echo: booked"


def test_participant_data_carries_over_to_the_next_session_and_is_updated_in_place(
    chatbot, fake_provider, owner, fake_llm
):
    set_graph(chatbot, chain(llm_node(fake_provider, tools=["set_participant_data"])))
    participant = services.participant_for_member(user=owner)
    for key, value in (("name", "Ada"), ("city", "Paris")):
        session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
        fake_llm.tool_calls([{"name": "set_participant_data", "arguments": {"key": key, "value": value}}]).reply("ok")
        turns.turn_process(message_id=say(session, f"my {key}").pk)

    rows = ParticipantData.objects.filter(participant=participant, chatbot=chatbot)
    assert [row.data for row in rows] == [{"name": "Ada", "city": "Paris"}]


def test_stuck_turns_are_enqueued_again_and_then_answered_once(member_session, fake_llm, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.conversations import tasks

    enqueued = []
    monkeypatch.setattr(tasks.turn_process_task, "delay", lambda **kw: enqueued.append(kw["message_id"]))
    lost_enqueue = say(member_session, "lost")
    lost_worker = say(member_session, "claimed, then the worker died")
    just_sent = say(member_session, "just now")
    answered = say(member_session, "answered")
    turns.turn_process(message_id=answered.pk)
    long_ago = timezone.now() - timedelta(minutes=10)
    ChatMessage.objects.filter(pk__in=[lost_enqueue.pk, lost_worker.pk, answered.pk]).update(created_at=long_ago)
    ChatMessage.objects.filter(pk=lost_worker.pk).update(turn_status=TurnStatus.PROCESSING, turn_started_at=long_ago)
    enqueued.clear()

    assert tasks.turns_requeue_task() == 2
    assert sorted(enqueued) == sorted([lost_enqueue.pk, lost_worker.pk])  # not the recent or the answered one

    for message_id in enqueued + enqueued:  # the original delivery may still arrive: still one reply each
        turns.turn_process(message_id=message_id)
    assert ChatMessage.objects.filter(reply_to_id__in=enqueued).count() == 2
    assert just_sent.pk not in enqueued


def test_stuck_turn_sweep_fans_out_one_task_per_active_team(team_a, team_b, monkeypatch):
    from shared_apps.core.db import connection
    from tenant_apps.conversations import tasks

    schemas = []
    monkeypatch.setattr(tasks.turns_requeue_task, "delay", lambda: schemas.append(connection.schema_name))

    tasks.turns_requeue_dispatch_task()

    assert {"t_alpha", "t_bravo"} <= set(schemas)

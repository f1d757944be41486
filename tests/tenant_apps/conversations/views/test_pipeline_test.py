"""The pipeline editor's test panel endpoints: a message through the working copy, the reply and the trace."""

import json
import uuid

import pytest

from tenant_apps.chatbots.services import chatbot_update, version_create
from tenant_apps.conversations import delivery, services, turns
from tenant_apps.conversations.models import ChatSession
from tenants.enums import Role


@pytest.fixture
def owner_client(team, owner, client_for):
    return client_for(team, owner)


@pytest.fixture
def worker_at_once(monkeypatch):
    """The worker, run as soon as a turn is enqueued; its after-commit publish (held back by the test's
    transaction) by hand, so a waiting send wakes."""

    def answer(message):
        delivery.deliver(reply=turns.turn_process(message_id=message.pk))

    monkeypatch.setattr(services, "turn_enqueue", answer)


def send(client, chatbot, body, **extra):
    return client.post(
        f"/chatbots/{chatbot.pk}/pipeline/test/", data=json.dumps(body), content_type="application/json", **extra
    )


def test_send_runs_the_working_copy_and_answers_with_reply_and_trace(owner_client, chatbot, worker_at_once):
    response = send(owner_client, chatbot, {"message": "Hello there", "wait": 5})

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "complete"
    assert body["reply"]["content"] == "Echo: Hello there"
    trace = body["trace"]
    assert trace["status"] == "success"
    assert trace["node_path"] == ["start", "llm", "end"]
    llm_node = next(node for node in trace["nodes"] if node["node_id"] == "llm")
    assert (llm_node["input"], llm_node["output"]) == ("Hello there", "Echo: Hello there")
    assert llm_node["duration_ms"] >= 0
    session = ChatSession.objects.get(external_id=body["session_id"])
    assert (session.chatbot_id, session.version_id) == (chatbot.pk, None)


def test_send_continues_the_named_session(owner_client, chatbot, worker_at_once):
    first = send(owner_client, chatbot, {"message": "one", "wait": 5}).json()

    second = send(owner_client, chatbot, {"message": "two", "session_id": first["session_id"], "wait": 5}).json()

    assert second["session_id"] == first["session_id"]
    assert second["reply"]["content"] == "Echo: two"


def test_send_starts_afresh_when_the_named_session_ended_or_is_not_a_test_session(
    owner_client, chatbot, owner, worker_at_once
):
    first = send(owner_client, chatbot, {"message": "one", "wait": 5}).json()
    services.session_end(session=ChatSession.objects.get(external_id=first["session_id"]))
    version = version_create(chatbot=chatbot, actor=owner)
    on_version = services.session_start(
        chatbot=chatbot, version=version, participant=services.participant_for_member(user=owner), platform="web"
    )

    after_end = send(owner_client, chatbot, {"message": "two", "session_id": first["session_id"]}).json()
    not_working_copy = send(owner_client, chatbot, {"message": "x", "session_id": str(on_version.external_id)}).json()

    assert after_end["session_id"] not in (first["session_id"], str(on_version.external_id))
    assert not_working_copy["session_id"] != str(on_version.external_id)


def test_send_skips_the_consent_prompt(owner_client, chatbot, owner, worker_at_once):
    from tenant_apps.chatbots.models import ConsentForm

    form = ConsentForm.objects.create(name="Terms", consent_text="Agree?")
    chatbot_update(chatbot=chatbot, actor=owner, consent_form=form)

    body = send(owner_client, chatbot, {"message": "hello", "wait": 5}).json()

    assert body["reply"]["content"] == "Echo: hello"


def test_slow_turn_answers_pending_then_the_reply_url_gives_the_reply(owner_client, chatbot):
    sent = send(owner_client, chatbot, {"message": "slow", "wait": 0}).json()  # no worker runs here
    assert (sent["status"], sent["reply"], sent["trace"]) == ("pending", None, None)
    still = owner_client.get(sent["reply_url"] + "?wait=0").json()
    assert still["status"] == "pending"

    turns.turn_process(message_id=sent["message_id"])  # the worker's job
    done = owner_client.get(sent["reply_url"]).json()

    assert done["status"] == "complete"
    assert done["reply"]["content"] == "Echo: slow"
    assert done["trace"]["node_path"] == ["start", "llm", "end"]


def test_failed_turn_reports_the_failing_node(owner_client, chatbot, fake_llm, worker_at_once):
    fake_llm.error(400, "bad request")

    body = send(owner_client, chatbot, {"message": "hi", "wait": 5}).json()

    assert body["reply"]["error"] is True
    assert body["trace"]["status"] == "error"
    assert body["trace"]["error_node_id"] == "llm"


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        pytest.param("not json", 400, "request.invalid", id="not-json"),
        pytest.param("[1]", 400, "request.invalid", id="not-an-object"),
        pytest.param('{"message": 5}', 400, "request.invalid", id="message-not-text"),
        pytest.param('{"message": "hi", "session_id": "nope"}', 400, "request.invalid", id="bad-session-id"),
        pytest.param('{"message": "   "}', 409, "message.empty", id="empty"),
        pytest.param(json.dumps({"message": "x" * 20_001}), 409, "message.too_long", id="too-long"),
    ],
)
def test_send_rejects_bad_input_with_a_coded_error(owner_client, chatbot, raw, status, code):
    response = owner_client.post(f"/chatbots/{chatbot.pk}/pipeline/test/", data=raw, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (status, code)


def test_reply_url_of_an_unknown_message_or_session_is_404(owner_client, chatbot):
    sent = send(owner_client, chatbot, {"message": "hi", "wait": 0}).json()
    other = uuid.uuid4()

    assert owner_client.get(f"/chatbots/{chatbot.pk}/pipeline/test/{other}/messages/1/").status_code == 404
    unknown = f"/chatbots/{chatbot.pk}/pipeline/test/{sent['session_id']}/messages/{sent['message_id'] + 99}/"
    assert owner_client.get(unknown).status_code == 404


def test_archived_chatbot_cannot_be_tested(owner_client, chatbot, owner):
    from tenant_apps.chatbots.services import chatbot_archive

    chatbot_archive(chatbot=chatbot, actor=owner)

    response = send(owner_client, chatbot, {"message": "hi"})

    assert (response.status_code, response.json()["code"]) == (409, "session.chatbot_archived")


def test_viewers_cannot_use_the_test_panel(team, chatbot, make_member, client_for):
    viewer = client_for(team, make_member(team, Role.VIEWER))

    assert send(viewer, chatbot, {"message": "hi"}).status_code == 404


def test_other_teams_chatbot_answers_404(chatbot, team_b, make_member, client_for):
    outsider = client_for(team_b, make_member(team_b, Role.OWNER))  # on their own host: the id is not theirs

    assert send(outsider, chatbot, {"message": "hi"}).status_code == 404


def test_a_streaming_send_answers_at_once_with_the_stream_of_its_reply(owner_client, chatbot, team, settings):
    from tenant_apps.conversations import streams

    settings.CHAT_STREAM_PORT = 0  # production: the stream server on the page's own origin
    response = send(owner_client, chatbot, {"message": "Stream me", "wait": 5, "stream": True})

    body = response.json()
    assert body["status"] == "pending"
    host = owner_client.host.split(":")[0]
    assert body["stream_url"].startswith(f"http://{owner_client.host}/stream/turn/")
    grant = streams.grant_read(body["stream_url"].split("/stream/turn/")[1].strip("/"), host=host)
    assert grant == streams.StreamGrant(schema=team.schema_name, message_id=body["message_id"], host=host)

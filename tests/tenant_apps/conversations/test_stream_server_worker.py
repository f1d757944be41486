"""The stream server through the real stack (ADR 0090, ADR 0095): the gevent chat worker runs the turn, the fake
provider streams at a realistic pace over the official SDK, the uvicorn stream server forwards the tokens as
Server-Sent Events. Waits follow conditions with generous ceilings."""

from __future__ import annotations

import contextlib
import time

import httpx
import pytest

from tenant_apps.conversations import streams
from tenant_apps.conversations.models import ChatMessage
from tenants.context import tenant_context
from tests.factories.conversations import say
from tests.fakes.llm_server import Profile
from tests.fixtures_stream import SseReader
from tests.tenant_apps.conversations import test_turns_streaming as streaming

_session, _wait_for_replies = streaming._session, streaming._wait_for_replies
bots = streaming.bots  # the committed chatbots on the fake provider (fixture)

pytestmark = pytest.mark.worker

CEILING = 120.0
HOST = "alpha.localhost"


def _open(stream_server, schema: str, message_id: int, **headers: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    token = streams.grant_sign(streams.StreamGrant(schema=schema, message_id=message_id, host=HOST))
    client = httpx.Client(timeout=httpx.Timeout(CEILING))
    request = client.build_request("GET", stream_server.url(token), headers={"Host": HOST, **headers})
    return client.send(request, stream=True)


def _text(events) -> str:  # type: ignore[no-untyped-def]
    text = ""
    for event in events:
        if event.event == "reset":
            text = ""
        elif event.event == "token":
            text += event.data["d"]
            assert event.id == len(text), "each id is the offset of the text sent so far"
    return text


def test_tokens_through_the_worker_join_into_exactly_the_stored_reply(live_worker, stream_server, bots, fake_llm):
    team, bot, _ = bots("alpha")
    fake_llm.profile = Profile(first_token=0.3, tokens=40, seconds=2.0)
    with tenant_context(team):
        message = say(_session(bot, "stream-test-sse-1"), "tell me **more**")
        with contextlib.closing(_open(stream_server, team.schema_name, message.pk)) as response:
            events = SseReader(response).until("done")
        reply = ChatMessage.objects.get(reply_to_id=message.pk)

    tokens = [event for event in events if event.event == "token"]
    assert len(tokens) > 3  # in pieces, as the model wrote them
    assert _text(events) == reply.content
    assert events[-1].data["id"] == reply.pk
    assert events[-1].data["ok"] is True
    assert "<strong>more</strong>" in events[-1].data["html"]  # the pages' sanitised markdown


def test_a_client_that_leaves_mid_stream_leaves_a_complete_stored_reply(live_worker, stream_server, bots, fake_llm):
    team, bot, _ = bots("alpha")
    fake_llm.profile = Profile(first_token=0.3, tokens=40, seconds=3.0)
    with tenant_context(team):
        message = say(_session(bot, "stream-test-sse-leave"), "leave early")
        response = _open(stream_server, team.schema_name, message.pk)
        reader = SseReader(response)
        while (event := reader.next()) is not None and event.event != "token":
            pass
        response.close()  # the tab closed mid-stream: nothing is cancelled
        replies = _wait_for_replies([message.pk])
        reply = replies[message.pk][0]

    assert reply.content.startswith("Echo: leave early w0")
    assert reply.content.endswith("w36")  # the whole echo: 40 words with "Echo:" and the two of the message
    assert not reply.metadata.get("cancelled")


def test_a_reconnect_with_last_event_id_resumes_where_it_stopped(live_worker, stream_server, bots, fake_llm):
    team, bot, _ = bots("alpha")
    fake_llm.profile = Profile(first_token=0.3, tokens=60, seconds=4.0)
    with tenant_context(team):
        message = say(_session(bot, "stream-test-sse-resume"), "resume me")
        first = _open(stream_server, team.schema_name, message.pk)
        reader = SseReader(first)
        before = []
        while (event := reader.next()) is not None:
            before.append(event)
            if event.event == "token" and len(before) >= 2:
                break
        first.close()
        last_id = next(event.id for event in reversed(before) if event.event == "token")
        time.sleep(0.5)  # tokens go on while the client is away
        with contextlib.closing(
            _open(stream_server, team.schema_name, message.pk, **{"Last-Event-ID": str(last_id)})
        ) as second:
            after = SseReader(second).until("done")
        reply = ChatMessage.objects.get(reply_to_id=message.pk)

    first_text = _text(before)
    resumed = "".join(event.data["d"] for event in after if event.event == "token")
    assert first_text + resumed == reply.content  # nothing lost, nothing twice
    assert next(event.id for event in after if event.event == "token") > last_id


def test_another_teams_host_gets_404_for_a_real_turn(live_worker, stream_server, bots, fake_llm):
    team, bot, _ = bots("alpha")
    with tenant_context(team):
        message = say(_session(bot, "stream-test-sse-404"), "mine")
    token = streams.grant_sign(streams.StreamGrant(schema=team.schema_name, message_id=message.pk, host=HOST))

    response = httpx.get(stream_server.url(token), headers={"Host": "bravo.localhost"}, timeout=CEILING)

    assert response.status_code == 404

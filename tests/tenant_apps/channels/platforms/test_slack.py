"""Slack channels: the events endpoint on the apex (requests signed by ``slack_sdk``'s ``SignatureVerifier``;
tampered, stale, wrong-secret, unsigned and replayed variants refused with nothing stored), thread sessions,
retries answered once, replies in thread through ``WebClient`` on a loopback double of Slack's Web API (with its
error answers), the channel page, and a real worker from webhook to the reply in the right team."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk.signature import SignatureVerifier

from tenant_apps.channels import outbound, services
from tenant_apps.channels.enums import ChannelKind, DeliveryStatus
from tenant_apps.channels.exceptions import ChannelInvalidError
from tenant_apps.channels.models import Delivery
from tenant_apps.channels.platforms import slack
from tenant_apps.conversations.enums import MessageRole
from tenant_apps.conversations.models import ChatMessage, ChatSession
from tests.factories.providers import SLACK_SIGNING, messaging_provider
from tests.fakes.slack_api import SlackApiDouble
from tests.fixtures_worker import PLATFORM_DOUBLE_PORTS

EVENTS = "/webhooks/slack/events/"
TEAM = "T0SLACKA"
ROOT_TS = "1700000100.000100"


def _event(
    text: str = "<@U0BOT> hello there",
    *,
    type: str = "app_mention",
    channel: str = "C0GENERAL",
    ts: str = ROOT_TS,
    thread_ts: str | None = None,
    user: str = "U0ALICE",
    channel_type: str | None = None,
    event_id: str = "Ev0001",
    team: str = TEAM,
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {"type": type, "user": user, "text": text, "ts": ts, "channel": channel, **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    if channel_type:
        event["channel_type"] = channel_type
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0APP",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": time.time_ns(),  # a delivery is signed anew each time (Slack re-signs its retries)
        "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
    }


def _signed(payload: Any, *, secret: str = SLACK_SIGNING, at: float | None = None) -> tuple[str, dict[str, str]]:
    body = json.dumps(payload)
    timestamp = str(int(time.time() if at is None else at))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return body, {"HTTP_X_SLACK_REQUEST_TIMESTAMP": timestamp, "HTTP_X_SLACK_SIGNATURE": str(signature)}


def _post(client: Any, body: str, headers: dict[str, str], query: str = "") -> Any:
    return client.post(EVENTS + query, body, content_type="application/json", **headers)


def _deliver(client: Any, payload: Any, **headers: str) -> Any:
    body, signed = _signed(payload)
    return _post(client, body, {**signed, **headers})


@pytest.fixture
def double(platform_doubles: Any) -> Iterator[SlackApiDouble]:
    with SlackApiDouble(port=PLATFORM_DOUBLE_PORTS["slack"]) as server:
        yield server


@pytest.fixture
def channel(published: Any, owner: Any, double: SlackApiDouble) -> Any:
    provider = messaging_provider(type="slack")
    return services.channel_create(
        chatbot=published, kind=ChannelKind.SLACK, name="Slack", provider=provider, user=owner
    )


@pytest.fixture
def answered(eager_tasks: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """``answered(client, payload)``: deliver a signed event and run what it enqueued (turn, then the send)."""

    def deliver(client: Any, payload: Any, **headers: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return _deliver(client, payload, **headers)

    return deliver


def _participant_messages() -> list[ChatMessage]:
    return list(ChatMessage.objects.filter(role=MessageRole.USER, hidden=False).order_by("id"))


# ---------------------------------------------------------------------------------------------- configuration


def test_channel_create_reads_the_workspace_from_auth_test_and_routes_it(channel: Any, double: SlackApiDouble) -> None:
    channel.refresh_from_db()

    assert channel.config["slack_team_id"] == TEAM
    assert channel.config["slack_bot_user_id"] == "U0BOT"
    [call] = double.calls("auth.test")
    assert call.headers["authorization"] == "Bearer xoxb-1-SECRET-never-shown"
    assert slack.webhook_url(channel, "http://acme.localhost").endswith(f"{EVENTS}?team={TEAM}")


def test_channel_create_refused_when_slack_refuses_the_token(published: Any, owner: Any, double: Any) -> None:
    double.fail_next("auth.test", 200, "invalid_auth")

    with pytest.raises(ChannelInvalidError) as refused:
        services.channel_create(
            chatbot=published,
            kind=ChannelKind.SLACK,
            name="Slack",
            provider=messaging_provider(type="slack"),
            user=owner,
        )

    assert refused.value.code == "channel.slack_refused"
    assert "invalid_auth" in refused.value.message


def test_entered_workspace_must_be_the_tokens(channel: Any, owner: Any) -> None:
    with pytest.raises(ChannelInvalidError) as refused:
        services.channel_update(
            channel=channel, name="Slack", disabled_message="", config={"slack_team_id": "T0OTHER"}, user=owner
        )

    assert refused.value.code == "channel.slack_team_mismatch"


def test_a_workspace_connects_to_one_channel_only(channel: Any, published: Any, owner: Any) -> None:
    with pytest.raises(ChannelInvalidError) as refused:
        services.channel_create(
            chatbot=published, kind=ChannelKind.SLACK, name="Again", provider=channel.provider, user=owner
        )

    assert refused.value.code == "channel.route_taken"


def test_test_connection_checks_token_and_workspace(channel: Any, double: SlackApiDouble) -> None:
    ok = slack.test_connection(channel)
    double.team_id = "T0OTHER"
    moved = slack.test_connection(channel)
    double.fail_next("auth.test", 200, "token_revoked")
    revoked = slack.test_connection(channel)

    assert ok.ok
    assert "Acme" in ok.message
    assert not moved.ok
    assert "T0OTHER" in moved.message
    assert not revoked.ok
    assert "token_revoked" in revoked.message


def test_channel_page_shows_setup_steps_and_the_request_url(channel: Any, member_client: Any) -> None:
    response = member_client.get(f"/chatbots/{channel.chatbot_id}/channels/{channel.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "app_mentions:read" in html
    assert "message.im" in html
    assert f"{EVENTS}?team={TEAM}" in html
    assert 'data-testid="test-connection"' in html


# ------------------------------------------------------------------------------------------------ verification


def test_url_verification_is_answered_with_the_challenge(channel: Any, apex_client: Any) -> None:
    body, headers = _signed(
        {"token": "t", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )

    answer = _post(apex_client, body, headers, query=f"?team={TEAM}")
    nameless = _post(apex_client, body, headers)
    forged = _post(apex_client, *_signed(json.loads(body), secret="0" * 32), query=f"?team={TEAM}")

    assert answer.status_code == 200
    assert answer.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert nameless.status_code == 400
    assert nameless.json()["code"] == "slack.team_unknown"
    assert forged.status_code == 401


def _tampered() -> tuple[str, dict[str, str]]:
    body, headers = _signed(_event())
    return body.replace("hello there", "transfer the money"), headers


def _missing_signature() -> tuple[str, dict[str, str]]:
    body, headers = _signed(_event())
    return body, {"HTTP_X_SLACK_REQUEST_TIMESTAMP": headers["HTTP_X_SLACK_REQUEST_TIMESTAMP"]}


def _garbled_timestamp() -> tuple[str, dict[str, str]]:
    body, headers = _signed(_event())
    return body, {**headers, "HTTP_X_SLACK_REQUEST_TIMESTAMP": "yesterday"}


@pytest.mark.parametrize(
    ("make", "code"),
    [
        pytest.param(_tampered, "channel.bad_signature", id="tampered"),
        pytest.param(lambda: _signed(_event(), at=time.time() - 400), "channel.stale_signature", id="stale"),
        pytest.param(lambda: _signed(_event(), at=time.time() + 400), "channel.stale_signature", id="future"),
        pytest.param(lambda: _signed(_event(), secret="f" * 32), "channel.bad_signature", id="wrong-secret"),
        pytest.param(lambda: (json.dumps(_event()), {}), "channel.unsigned", id="unsigned"),
        pytest.param(_missing_signature, "channel.unsigned", id="missing-signature"),
        pytest.param(_garbled_timestamp, "channel.bad_signature", id="garbled-timestamp"),
    ],
)
def test_bad_signatures_are_refused_with_nothing_stored(channel: Any, apex_client: Any, make: Any, code: str) -> None:
    body, headers = make()

    response = _post(apex_client, body, headers)

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert _participant_messages() == []


def test_a_replayed_request_is_refused(channel: Any, apex_client: Any) -> None:
    body, headers = _signed(_event())

    first = _post(apex_client, body, headers)
    again = _post(apex_client, body, headers)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["code"] == "channel.replayed"
    assert len(_participant_messages()) == 1


def test_unknown_workspace_is_not_found(channel: Any, apex_client: Any) -> None:
    response = _deliver(apex_client, _event(team="T0NOBODY"))

    assert response.status_code == 404
    assert _participant_messages() == []


def test_oversized_and_malformed_bodies_are_refused(channel: Any, apex_client: Any) -> None:
    big = _post(apex_client, *_signed({"text": "x" * 300_000}))
    ts = str(int(time.time()))
    garbage = "{not json"
    sig = SignatureVerifier(SLACK_SIGNING).generate_signature(timestamp=ts, body=garbage)
    malformed = _post(apex_client, garbage, {"HTTP_X_SLACK_REQUEST_TIMESTAMP": ts, "HTTP_X_SLACK_SIGNATURE": sig})

    assert big.status_code == 413
    assert malformed.status_code == 400


# -------------------------------------------------------------------------------------------- conversations


def test_a_mention_is_stored_and_answered_in_its_thread(
    channel: Any, apex_client: Any, double: SlackApiDouble, answered: Any, fake_llm: Any
) -> None:
    response = answered(apex_client, _event())

    assert response.status_code == 200
    assert response.json()["duplicate"] is False
    [message] = _participant_messages()
    assert message.content == "hello there"  # the bot's own mention is not part of what was said
    assert message.external_id == f"C0GENERAL:{ROOT_TS}:{ROOT_TS}"
    assert message.session.participant.identifier == "U0ALICE"
    [posted] = double.posted
    assert posted["channel"] == "C0GENERAL"
    assert posted["thread_ts"] == ROOT_TS
    assert posted["text"]
    assert double.calls("chat.postMessage")[0].headers["authorization"] == "Bearer xoxb-1-SECRET-never-shown"
    assert Delivery.objects.get(message=message.reply).status == DeliveryStatus.SENT


def test_a_retried_delivery_and_the_message_twin_give_one_reply(
    channel: Any, apex_client: Any, double: SlackApiDouble, answered: Any, fake_llm: Any
) -> None:
    first = answered(apex_client, _event())
    retry = answered(apex_client, _event(), HTTP_X_SLACK_RETRY_NUM="1", HTTP_X_SLACK_RETRY_REASON="http_timeout")
    twin = answered(apex_client, _event(type="message", channel_type="channel", event_id="Ev0002"))

    assert first.json()["duplicate"] is False
    assert retry.status_code == 200
    assert retry.json()["duplicate"] is True
    assert twin.status_code == 200
    assert twin.json()["ignored"] == "not_for_the_bot"
    assert len(_participant_messages()) == 1
    assert len(double.posted) == 1


def test_a_thread_is_a_session_the_bot_follows(channel: Any, apex_client: Any, answered: Any, fake_llm: Any) -> None:
    answered(apex_client, _event())
    in_thread = answered(
        apex_client,
        _event("and one more thing", type="message", channel_type="channel", ts="1700000200.000200",
               thread_ts=ROOT_TS, user="U0BOB", event_id="Ev0003"),
    )  # fmt: skip
    elsewhere = _deliver(
        apex_client,
        _event("unrelated", type="message", channel_type="channel", ts="1700000300.000300",
               thread_ts="1700000250.000000", event_id="Ev0004"),
    )  # fmt: skip
    top_level = _deliver(
        apex_client, _event("chatter", type="message", channel_type="channel", ts="1700000400.0", event_id="Ev0005")
    )
    answered(apex_client, _event("<@U0BOT> other topic", ts="1700000500.000500", event_id="Ev0006"))

    assert in_thread.json()["duplicate"] is False
    assert elsewhere.json()["ignored"] == "not_in_a_session"
    assert top_level.json()["ignored"] == "not_for_the_bot"
    first, second, third = _participant_messages()
    assert first.session_id == second.session_id != third.session_id
    assert ChatSession.objects.count() == 2


def test_direct_messages_are_one_conversation_answered_in_it(
    channel: Any, apex_client: Any, double: SlackApiDouble, answered: Any, fake_llm: Any
) -> None:
    answered(apex_client, _event("hi", type="message", channel="D0DM", channel_type="im", ts="1700000600.1"))
    answered(
        apex_client,
        _event("still me", type="message", channel="D0DM", channel_type="im", ts="1700000700.1", event_id="Ev0007"),
    )

    first, second = _participant_messages()
    assert first.session_id == second.session_id
    assert [p["channel"] for p in double.posted] == ["D0DM", "D0DM"]
    assert all("thread_ts" not in p for p in double.posted)


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(_event("I am a bot", bot_id="B0OTHER"), id="bot-message"),
        pytest.param(_event("edited", subtype="message_changed"), id="edit"),
        pytest.param(_event("my own words", user="U0BOT"), id="itself"),
        pytest.param(_event(type="reaction_added"), id="other-event"),
        pytest.param(_event("<@U0BOT>"), id="empty-mention"),
    ],
)
def test_what_is_not_a_persons_message_is_acknowledged_and_ignored(
    channel: Any, apex_client: Any, event: dict[str, Any]
) -> None:
    response = _deliver(apex_client, event)

    assert response.status_code == 200
    assert "ignored" in response.json()
    assert _participant_messages() == []


def test_a_disabled_channel_stores_nothing_but_acknowledges(channel: Any, apex_client: Any, owner: Any) -> None:
    services.channel_set_enabled(channel=channel, enabled=False, user=owner)

    response = _deliver(apex_client, _event())

    assert response.status_code == 200
    assert response.json()["ignored"] == "channel_disabled"
    assert _participant_messages() == []


def test_an_ended_thread_starts_its_next_session_on_the_next_mention(
    channel: Any, apex_client: Any, answered: Any, fake_llm: Any
) -> None:
    from tenant_apps.conversations.services import session_end

    answered(apex_client, _event())
    session_end(session=_participant_messages()[0].session)
    follow = _deliver(
        apex_client,
        _event("anyone?", type="message", channel_type="channel", ts="1700000800.1", thread_ts=ROOT_TS,
               event_id="Ev0008"),
    )  # fmt: skip
    retry_of_first = _deliver(apex_client, _event(), HTTP_X_SLACK_RETRY_NUM="2")
    mention = answered(apex_client, _event("<@U0BOT> again", ts="1700000900.1", thread_ts=ROOT_TS, event_id="Ev0009"))

    assert follow.json()["ignored"] == "not_in_a_session"
    assert retry_of_first.json()["duplicate"] is True
    assert mention.json()["duplicate"] is False
    first, second = _participant_messages()
    assert first.session_id != second.session_id


# ---------------------------------------------------------------------------------------------------- sending


def _reply(channel: Any, apex_client: Any, text: str) -> ChatMessage:
    """A bot reply (not yet sent) to a mention delivered through the webhook."""
    _deliver(apex_client, _event())
    source = _participant_messages()[0]
    return ChatMessage.objects.create(session=source.session, role=MessageRole.ASSISTANT, content=text, reply_to=source)


def test_a_long_reply_is_split_and_a_retry_resumes_after_the_parts_sent(
    channel: Any, apex_client: Any, double: SlackApiDouble
) -> None:
    paragraph = "word " * 500
    reply = _reply(channel, apex_client, "\n\n".join([paragraph] * 3))
    original = double._post_message
    calls = {"n": 0}

    def second_fails(req: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            return 503, {}, b"down"
        return original(req)

    double.server.routes["/api/chat.postMessage"] = second_fails
    with pytest.raises(outbound.TransientSendError):
        outbound.reply_send(message_id=reply.pk, final_attempt=False)
    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert len(double.posted) == 3  # part 1 once, then parts 2 and 3
    assert all(len(p["text"]) <= slack.MAX_PART for p in double.posted)
    assert all(p["thread_ts"] == ROOT_TS for p in double.posted)
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.SENT


def test_rate_limited_send_is_retried_after_slacks_retry_after(
    channel: Any, apex_client: Any, double: SlackApiDouble
) -> None:
    reply = _reply(channel, apex_client, "Hello")
    double.fail_next("chat.postMessage", 429, "ratelimited", retry_after=7)

    with pytest.raises(outbound.TransientSendError) as transient:
        outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert transient.value.extra["retry_after"] == 7
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.RETRYING
    assert double.posted == []


@pytest.mark.parametrize(
    ("status", "error"),
    [pytest.param(503, "", id="5xx"), pytest.param(200, "internal_error", id="internal-error")],
)
def test_slack_unavailable_is_transient(
    channel: Any, apex_client: Any, double: SlackApiDouble, status: int, error: str
) -> None:
    reply = _reply(channel, apex_client, "Hello")
    double.fail_next("chat.postMessage", status, error)

    with pytest.raises(outbound.TransientSendError):
        outbound.reply_send(message_id=reply.pk, final_attempt=False)


def test_slack_unreachable_is_transient(channel: Any, apex_client: Any, settings: Any) -> None:
    reply = _reply(channel, apex_client, "Hello")
    settings.PLATFORM_API_URLS = {**settings.PLATFORM_API_URLS, "slack": "http://127.0.0.1:9/api/"}

    with pytest.raises(outbound.TransientSendError):
        outbound.reply_send(message_id=reply.pk, final_attempt=False)


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_auth"])
def test_a_refusal_is_final_and_recorded(channel: Any, apex_client: Any, double: SlackApiDouble, error: str) -> None:
    reply = _reply(channel, apex_client, "Hello")
    double.fail_next("chat.postMessage", 200, error)

    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    delivery = Delivery.objects.get(message=reply)
    assert delivery.status == DeliveryStatus.FAILED
    assert error in delivery.error
    reply.refresh_from_db()
    assert reply.metadata["delivery"]["status"] == DeliveryStatus.FAILED


def test_markdown_becomes_mrkdwn() -> None:
    text = "# Title\n**bold** and *it* ~~gone~~ [site](https://example.com/?a=1&b=2)\n- item\n`a<b` 1 < 2"

    assert slack.to_mrkdwn(text) == (
        "*Title*\n*bold* and _it_ ~gone~ <https://example.com/?a=1&b=2|site>\n• item\n`a&lt;b` 1 &lt; 2"
    )


def test_split_text_keeps_parts_within_the_limit() -> None:
    parts = slack.split_text("x" * 7000, limit=3000)

    assert [len(p) for p in parts] == [3000, 3000, 1000]


def test_test_connection_button_reports_slacks_answer(channel: Any, member_client: Any) -> None:
    response = member_client.post(f"/chatbots/{channel.chatbot_id}/channels/{channel.pk}/test/", follow=True)

    assert response.status_code == 200
    assert "Connected to the Slack workspace" in response.content.decode()


# ------------------------------------------------------------------------------------------------ real worker


@pytest.fixture
def committed_slack(
    django_db_setup: None, committed: None, fake_llm: Any, platform_doubles: Any
) -> Iterator[tuple[SlackApiDouble, Any]]:
    """The Slack double on the run's port and ``connect(slug, workspace)``: a committed published chatbot of
    that team with a Slack channel for that workspace; everything is removed afterwards."""
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenant_apps.conversations.models import Participant
    from tenant_apps.pipelines.models import Pipeline
    from tenants.context import tenant_context
    from tenants.models import Team
    from tests.factories.providers import llm_provider

    made: list[tuple[Any, Any, list[Any], int]] = []
    with SlackApiDouble(port=PLATFORM_DOUBLE_PORTS["slack"]) as double:

        def connect(slug: str, workspace: str) -> Any:
            team = Team.objects.get(slug=slug)
            double.team_id = workspace
            with tenant_context(team):
                last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
                llm = llm_provider(base_url=fake_llm.openai_base_url, name=f"Slack live LLM {slug}")
                llm.custom_models.create(name="fake-model")
                bot = chatbot_create(name=f"Slack live bot {slug}", created_by=None)
                version_create(chatbot=bot, actor=None, publish=True)
                provider = messaging_provider(type="slack", name=f"Slack live {slug}")
                channel = services.channel_create(
                    chatbot=bot, kind=ChannelKind.SLACK, name="Slack", provider=provider, user=None
                )
            made.append((team, bot, [channel, provider, llm], last_event))
            return channel

        yield double, connect
    for team, bot, (channel, provider, llm), last_event in made:
        with tenant_context(team):
            services.channel_delete(channel=channel)
            ChatSession.objects.filter(chatbot=bot).delete()
            Participant.objects.filter(platform="slack").delete()
            Chatbot.objects.filter(pk=bot.pk).update(published_version=None)
            bot.versions.all().delete()
            Chatbot.objects.filter(pk=bot.pk).delete()
            Pipeline.objects.filter(name__startswith=bot.name).delete()
            provider.delete()
            llm.delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()


def test_a_real_worker_answers_each_workspace_in_its_own_team(live_worker: Any, committed_slack: Any) -> None:
    from tenants.context import tenant_context
    from tenants.models import Team
    from tests.conftest import TEAM_A, TEAM_B, TeamClient

    double, connect = committed_slack
    connect(TEAM_A, "T0WORKA")
    connect(TEAM_B, "T0WORKB")
    apex = TeamClient("localhost")

    to_a = _deliver(apex, _event("<@U0BOT> hello from A", team="T0WORKA", channel="C0AAA"))
    to_a_again = _deliver(apex, _event("<@U0BOT> hello from A", team="T0WORKA", channel="C0AAA"),
                          HTTP_X_SLACK_RETRY_NUM="1")  # fmt: skip
    to_b = _deliver(apex, _event("hello from B", type="message", channel_type="im", team="T0WORKB", channel="D0BBB"))
    deadline = time.monotonic() + 90
    while len(double.posted) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # a second reply (there must be none) would come now

    assert [to_a.status_code, to_b.status_code] == [200, 200]
    assert to_a_again.json()["duplicate"] is True
    by_channel = {p["channel"]: p for p in double.posted}
    assert len(double.posted) == 2
    assert by_channel["C0AAA"]["thread_ts"] == ROOT_TS
    assert "thread_ts" not in by_channel["D0BBB"]
    for slug, text in ((TEAM_A, "hello from A"), (TEAM_B, "hello from B")):
        with tenant_context(Team.objects.get(slug=slug)):
            [message] = ChatMessage.objects.filter(role=MessageRole.USER, session__platform="slack", hidden=False)
            assert message.content == text
            assert message.reply.metadata["delivery"]["status"] == DeliveryStatus.SENT


def test_two_first_messages_of_a_thread_at_once_start_one_session(
    channel: Any, apex_client: Any, monkeypatch: Any
) -> None:
    from tenant_apps.channels.platforms import slack_events

    _deliver(apex_client, _event())
    real = slack_events.conversation_selectors.sessions_by_external_id
    calls = {"n": 0}

    def stale_read(**kwargs: Any) -> list[Any]:
        calls["n"] += 1
        return [] if calls["n"] == 1 else real(**kwargs)  # the first read missed the session the other one started

    monkeypatch.setattr(slack_events.conversation_selectors, "sessions_by_external_id", stale_read)
    twin = _deliver(apex_client, _event("<@U0BOT> also this", ts="1700000150.1", thread_ts=ROOT_TS, event_id="Ev2"))

    assert twin.status_code == 200
    assert twin.json()["duplicate"] is False
    first, second = _participant_messages()
    assert first.session_id == second.session_id
    assert ChatSession.objects.count() == 1


def test_a_reply_to_no_slack_message_goes_where_the_session_last_spoke(
    channel: Any, apex_client: Any, double: SlackApiDouble
) -> None:
    _deliver(apex_client, _event("hi", type="message", channel="D0DM", channel_type="im", ts="1700000600.1"))
    session = _participant_messages()[0].session
    greeting = ChatMessage.objects.create(session=session, role=MessageRole.ASSISTANT, content="Welcome!")

    outbound.reply_send(message_id=greeting.pk, final_attempt=False)

    assert double.posted == [{"channel": "D0DM", "text": "Welcome!"}]

"""Telegram channels: the per-channel webhook on the team host (the ``X-Telegram-Bot-Api-Secret-Token`` header:
right, wrong and missing; nothing stored when refused), ``setWebhook`` on save and ``deleteWebhook`` on delete
through a loopback double of the Bot API, text/photos/documents in, redeliveries answered once, replies split and
converted to Telegram HTML with the Bot API's error answers (429 retry_after, 5xx, 403 blocked), and a real worker
from webhook to ``sendMessage`` in the right team."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.channels import outbound, services
from tenant_apps.channels.enums import ChannelKind, DeliveryStatus
from tenant_apps.channels.models import Channel, Delivery
from tenant_apps.channels.platforms import telegram
from tenant_apps.conversations.enums import MessageRole
from tenant_apps.conversations.models import ChatMessage, ChatSession, ParticipantData
from tests.factories.providers import TELEGRAM_TOKEN, messaging_provider
from tests.fakes.telegram_api import BLOCKED, TelegramApiDouble
from tests.fixtures_worker import PLATFORM_DOUBLE_PORTS

CHAT = 4242


def _update(
    text: str | None = "Hi",
    *,
    message_id: int = 576,
    chat: int = CHAT,
    update_id: int = 432101234,
    **extra: Any,
) -> dict[str, Any]:
    """An Update as Telegram sends it (the shape of OCS's ``telegram_messages.py`` fixture)."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": chat, "is_bot": False, "first_name": "Ada", "last_name": "Lovelace", "language_code": "en"},
        "chat": {"id": chat, "first_name": "Ada", "last_name": "Lovelace", "type": "private"},
        "date": 1690376696,
        **extra,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": update_id, "message": message}


def _path(channel: Any) -> str:
    return f"/api/channels/{channel.public_id}/telegram/"


def _secret(channel: Any) -> str:
    return Channel.objects.get(pk=channel.pk).secrets.reveal()["webhook_secret"]


def _deliver(client: Any, channel: Any, payload: Any, *, secret: str | None = "", **headers: str) -> Any:
    if secret == "":
        secret = _secret(channel)
    if secret is not None:
        headers["HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"] = secret
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(_path(channel), body, content_type="application/json", **headers)


@pytest.fixture
def double(platform_doubles: Any) -> Iterator[TelegramApiDouble]:
    with TelegramApiDouble(port=PLATFORM_DOUBLE_PORTS["telegram"]) as server:
        yield server


@pytest.fixture
def channel(published: Any, owner: Any, double: TelegramApiDouble) -> Any:
    provider = messaging_provider(type="telegram")
    return services.channel_create(
        chatbot=published, kind=ChannelKind.TELEGRAM, name="Telegram", provider=provider, user=owner
    )


@pytest.fixture
def team_host(client_for: Any, team_a: Any) -> Any:
    return client_for(team_a)


@pytest.fixture
def answered(eager_tasks: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """``answered(client, channel, payload)``: deliver an update and run what it enqueued (typing, turn, send)."""

    def deliver(client: Any, channel: Any, payload: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return _deliver(client, channel, payload, **kwargs)

    return deliver


def _participant_messages() -> list[ChatMessage]:
    return list(ChatMessage.objects.filter(role=MessageRole.USER, hidden=False).order_by("id"))


# ---------------------------------------------------------------------------------------------- configuration


def test_saving_sets_the_webhook_with_the_channels_secret(channel: Any, double: TelegramApiDouble) -> None:
    [body] = double.bodies("setWebhook")
    assert double.token == TELEGRAM_TOKEN
    secret = _secret(channel)

    assert body["url"].endswith(_path(channel))
    assert body["url"].startswith("http")
    assert body["secret_token"] == secret
    assert len(secret) >= 32
    assert body["allowed_updates"] == ["message"]
    assert channel.config["telegram_bot_username"] == "acme_helper_bot"
    assert "never-shown" not in json.dumps(channel.config)


def test_an_update_keeps_the_secret_and_sets_the_webhook_again(
    channel: Any, owner: Any, double: TelegramApiDouble
) -> None:
    secret = _secret(channel)

    services.channel_update(channel=channel, name="Renamed", disabled_message="", config={}, user=owner)

    assert [b["secret_token"] for b in double.bodies("setWebhook")] == [secret, secret]


def test_a_refused_webhook_refuses_the_save_with_telegrams_words(
    published: Any, owner: Any, double: TelegramApiDouble
) -> None:
    double.fail_next("setWebhook", 400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")

    with pytest.raises(ApplicationError) as refused:
        services.channel_create(
            chatbot=published,
            kind=ChannelKind.TELEGRAM,
            name="Telegram",
            provider=messaging_provider(type="telegram"),
            user=owner,
        )

    assert refused.value.code == "channel.telegram_refused"
    assert "An HTTPS URL must be provided" in refused.value.message


def test_a_failing_get_me_after_the_webhook_is_set_does_not_refuse_the_save(
    published: Any, owner: Any, double: TelegramApiDouble
) -> None:
    double.fail_next("getMe", 502, "Bad Gateway")

    channel = services.channel_create(
        chatbot=published,
        kind=ChannelKind.TELEGRAM,
        name="Telegram",
        provider=messaging_provider(type="telegram"),
        user=owner,
    )

    assert double.webhook["url"].endswith(_path(channel))
    assert "telegram_bot_username" not in channel.config


def test_deleting_deletes_the_webhook_and_a_failure_does_not_block(
    channel: Any, published: Any, owner: Any, double: TelegramApiDouble
) -> None:
    services.channel_delete(channel=channel, user=owner)
    other = services.channel_create(
        chatbot=published,
        kind=ChannelKind.TELEGRAM,
        name="Again",
        provider=messaging_provider(type="telegram", name="t2"),
        user=owner,
    )
    double.fail_next("deleteWebhook", 401, "Unauthorized")
    services.channel_delete(channel=other, user=owner)

    assert len(double.calls("deleteWebhook")) == 2
    assert not Channel.objects.filter(kind=ChannelKind.TELEGRAM).exists()


def test_test_connection_reads_the_bot_and_where_its_webhook_points(channel: Any, double: TelegramApiDouble) -> None:
    ours = telegram.test_connection(channel)
    double.webhook = {"url": "https://elsewhere.example/hook"}
    elsewhere = telegram.test_connection(channel)
    double.fail_next("getMe", 401, "Unauthorized")
    refused = telegram.test_connection(channel)

    assert ours.ok
    assert "@acme_helper_bot" in ours.message
    assert not elsewhere.ok
    assert "https://elsewhere.example/hook" in elsewhere.message
    assert not refused.ok
    assert "Unauthorized" in refused.message


def test_channel_page_shows_setup_steps_and_the_webhook_url(channel: Any, member_client: Any) -> None:
    response = member_client.get(f"/chatbots/{channel.chatbot_id}/channels/{channel.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "@BotFather" in html
    assert _path(channel) in html
    assert 'data-testid="test-connection"' in html
    assert _secret(channel) not in html


# ------------------------------------------------------------------------------------------------ verification


@pytest.mark.parametrize(
    ("secret", "status"),
    [pytest.param("wrong-secret", 403, id="wrong"), pytest.param(None, 403, id="missing")],
)
def test_a_wrong_or_missing_secret_is_refused_with_nothing_stored(
    channel: Any, team_host: Any, secret: str | None, status: int
) -> None:
    answer = _deliver(team_host, channel, _update(), secret=secret)

    assert answer.status_code == status
    assert answer.json()["code"] == "channel.bad_secret"
    assert _participant_messages() == []


def test_another_channels_secret_is_refused(channel: Any, published: Any, owner: Any, team_host: Any) -> None:
    other = services.channel_create(
        chatbot=published,
        kind=ChannelKind.TELEGRAM,
        name="Other bot",
        provider=messaging_provider(type="telegram", name="t2"),
        user=owner,
    )

    answer = _deliver(team_host, channel, _update(), secret=_secret(other))

    assert answer.status_code == 403
    assert _participant_messages() == []


def test_unknown_channel_is_not_found(channel: Any, team_host: Any) -> None:
    answer = team_host.post(
        "/api/channels/00000000-0000-0000-0000-000000000000/telegram/",
        json.dumps(_update()),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=_secret(channel),
    )

    assert answer.status_code == 404


def test_malformed_body_is_refused(channel: Any, team_host: Any) -> None:
    assert _deliver(team_host, channel, "not json").status_code == 400
    assert _participant_messages() == []


# ---------------------------------------------------------------------------------------------------- inbound


def test_a_text_message_is_stored_typed_and_answered(
    channel: Any, team_host: Any, answered: Any, double: TelegramApiDouble
) -> None:
    answer = answered(team_host, channel, _update("Hello bot"))

    [message] = _participant_messages()
    assert answer.status_code == 200
    assert message.content == "Hello bot"
    assert message.external_id == f"{CHAT}:576"
    assert message.session.participant.identifier == str(CHAT)
    assert message.session.participant.name == "Ada Lovelace"
    assert message.metadata["platform_type"] == "text"
    assert double.bodies("sendChatAction") == [{"chat_id": str(CHAT), "action": "typing"}]
    [sent] = double.sent
    assert sent["chat_id"] == str(CHAT)
    assert sent["parse_mode"] == "HTML"
    assert Delivery.objects.get(message=message.reply).status == DeliveryStatus.SENT


def test_a_redelivered_update_gives_one_reply(
    channel: Any, team_host: Any, answered: Any, double: TelegramApiDouble
) -> None:
    first = answered(team_host, channel, _update("Once"))
    again = answered(team_host, channel, _update("Once"))

    assert [first.status_code, again.status_code] == [200, 200]
    assert len(_participant_messages()) == 1
    assert len(double.sent) == 1
    assert len(double.calls("sendChatAction")) == 1


def test_photos_and_documents_are_recorded_with_their_captions(channel: Any, team_host: Any) -> None:
    photo = [
        {"file_id": "AgAD-small", "file_unique_id": "s", "file_size": 1200, "width": 90, "height": 67},
        {"file_id": "AgAD-large", "file_unique_id": "l", "file_size": 88000, "width": 1280, "height": 960},
    ]
    document = {"file_id": "BQAD-doc", "file_unique_id": "d", "file_name": "terms.pdf",
                "mime_type": "application/pdf", "file_size": 53211}  # fmt: skip

    _deliver(team_host, channel, _update(None, message_id=1, photo=photo, caption="Look at this"))
    _deliver(team_host, channel, _update(None, message_id=2, photo=photo))
    _deliver(team_host, channel, _update(None, message_id=3, document=document))

    captioned, bare, doc = _participant_messages()
    assert captioned.content == "Look at this"
    assert captioned.metadata["platform_media"] == [
        {"type": "photo", "file_id": "AgAD-large", "width": 1280, "height": 960, "file_size": 88000}
    ]
    assert bare.content == "[photo]"
    assert doc.content == "[document: terms.pdf]"
    assert doc.metadata["platform_media"] == [
        {"type": "document", "file_id": "BQAD-doc", "name": "terms.pdf", "mime_type": "application/pdf",
         "file_size": 53211}
    ]  # fmt: skip


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"update_id": 1, "edited_message": _update()["message"]}, id="edited"),
        pytest.param({"update_id": 2, "my_chat_member": {"chat": {"id": CHAT}}}, id="chat-member"),
        pytest.param(_update(None, sticker={"file_id": "CAAD"}), id="sticker"),
        pytest.param(_update("   "), id="blank-text"),
        pytest.param(_update("x" * 70_000), id="too-long"),
    ],
)
def test_what_is_not_answered_is_acknowledged_and_not_stored(channel: Any, team_host: Any, payload: Any) -> None:
    answer = _deliver(team_host, channel, payload)

    assert answer.status_code == 200
    assert _participant_messages() == []


def test_a_disabled_channel_or_unpublished_chatbot_stores_nothing_but_acknowledges(
    channel: Any, team_host: Any, owner: Any
) -> None:
    from tenant_apps.chatbots.models import Chatbot

    services.channel_set_enabled(channel=channel, enabled=False, user=owner)
    disabled = _deliver(team_host, channel, _update())
    services.channel_set_enabled(channel=channel, enabled=True, user=owner)
    Chatbot.objects.filter(pk=channel.chatbot_id).update(published_version=None)
    unpublished = _deliver(team_host, channel, _update(message_id=2))

    assert [disabled.status_code, unpublished.status_code] == [200, 200]
    assert _participant_messages() == []


# ---------------------------------------------------------------------------------------------------- sending


def _reply(channel: Any, team_host: Any, text: str) -> ChatMessage:
    """A bot reply (not yet sent) to a message delivered through the webhook."""
    _deliver(team_host, channel, _update())
    source = _participant_messages()[0]
    return ChatMessage.objects.create(session=source.session, role=MessageRole.ASSISTANT, content=text, reply_to=source)


def test_a_long_reply_is_split_and_a_retry_resumes_after_the_parts_sent(
    channel: Any, team_host: Any, double: TelegramApiDouble
) -> None:
    sentence = "This is a sentence of the long answer. "
    reply = _reply(channel, team_host, sentence * 250)  # 9,750 characters in one paragraph
    original = double._send_message
    calls = {"n": 0}

    def second_fails(req: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            return double._error(502, "Bad Gateway")
        return original(req)

    double.server.routes[f"/bot{double.token}/sendMessage"] = second_fails
    with pytest.raises(outbound.TransientSendError):
        outbound.reply_send(message_id=reply.pk, final_attempt=False)
    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    texts = [p["text"] for p in double.sent]
    assert len(texts) == 3  # part 1 once, then parts 2 and 3
    assert all(len(t) <= telegram.MAX_PART for t in texts)
    assert all(t.endswith(".") for t in texts)  # cut at a sentence or paragraph
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.SENT


def test_rate_limited_send_is_retried_after_telegrams_retry_after(
    channel: Any, team_host: Any, double: TelegramApiDouble
) -> None:
    reply = _reply(channel, team_host, "Hello")
    double.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)

    with pytest.raises(outbound.TransientSendError) as transient:
        outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert transient.value.extra["retry_after"] == 7
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.RETRYING
    assert double.sent == []


@pytest.mark.parametrize("status", [500, 502])
def test_telegram_unavailable_is_transient(
    channel: Any, team_host: Any, double: TelegramApiDouble, status: int
) -> None:
    reply = _reply(channel, team_host, "Hello")
    double.fail_next("sendMessage", status, "Internal Server Error")

    with pytest.raises(outbound.TransientSendError):
        outbound.reply_send(message_id=reply.pk, final_attempt=False)


def test_telegram_unreachable_is_transient(channel: Any, team_host: Any, settings: Any) -> None:
    reply = _reply(channel, team_host, "Hello")
    settings.PLATFORM_API_URLS = {**settings.PLATFORM_API_URLS, "telegram": "http://127.0.0.1:9"}

    with pytest.raises(outbound.TransientSendError) as transient:
        outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert "never-shown" not in transient.value.message


def test_a_blocked_bot_is_final_and_stops_sends_until_the_user_writes(
    channel: Any, team_host: Any, double: TelegramApiDouble, answered: Any
) -> None:
    reply = _reply(channel, team_host, "Hello")
    double.fail_next("sendMessage", *BLOCKED)

    outbound.reply_send(message_id=reply.pk, final_attempt=False)
    later = ChatMessage.objects.create(session=reply.session, role=MessageRole.ASSISTANT, content="Still there?")
    outbound.reply_send(message_id=later.pk, final_attempt=False)

    delivery = Delivery.objects.get(message=reply)
    assert delivery.status == DeliveryStatus.FAILED
    assert "blocked" in delivery.error
    assert Delivery.objects.get(message=later).status == DeliveryStatus.FAILED
    assert len(double.calls("sendMessage")) == 1  # the later reply was not even tried
    assert ParticipantData.objects.get().data[telegram.BLOCKED_KEY] is True

    answered(team_host, channel, _update("I'm back", message_id=900))

    assert telegram.BLOCKED_KEY not in ParticipantData.objects.get().data
    assert len(double.sent) == 1


def test_another_refusal_is_final_and_recorded(channel: Any, team_host: Any, double: TelegramApiDouble) -> None:
    reply = _reply(channel, team_host, "Hello")
    double.fail_next("sendMessage", 400, "Bad Request: chat not found")

    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    delivery = Delivery.objects.get(message=reply)
    assert delivery.status == DeliveryStatus.FAILED
    assert "chat not found" in delivery.error
    assert not ParticipantData.objects.filter(data__has_key=telegram.BLOCKED_KEY).exists()


def test_markdown_becomes_telegram_html() -> None:
    text = (
        "# Title\n**bold** and *it* _also_ ~~gone~~ [site](https://example.com/?a=1&b=2)\n- item\n"
        "`a<b` 1 < 2 & snake_case_name\n```python\nif a < b:\n    pass\n```"
    )

    assert telegram.to_html(text) == (
        "<b>Title</b>\n<b>bold</b> and <i>it</i> <i>also</i> <s>gone</s> "
        '<a href="https://example.com/?a=1&amp;b=2">site</a>\n• item\n'
        "<code>a&lt;b</code> 1 &lt; 2 &amp; snake_case_name\n"
        '<pre><code class="language-python">if a &lt; b:\n    pass</code></pre>'
    )


def test_split_text_keeps_parts_within_the_limit_and_code_blocks_closed() -> None:
    plain = telegram.split_text("x" * 9000)
    code = telegram.split_text("```\n" + "line of code\n" * 700 + "```")

    assert [len(p) for p in plain] == [4088, 4088, 824]
    assert all(len(p) <= telegram.MAX_PART for p in code)
    assert all(p.count("```") == 2 for p in code)


def test_test_connection_button_reports_telegrams_answer(channel: Any, member_client: Any) -> None:
    response = member_client.post(f"/chatbots/{channel.chatbot_id}/channels/{channel.pk}/test/", follow=True)

    assert response.status_code == 200
    assert "Connected as @acme_helper_bot" in response.content.decode()


# ------------------------------------------------------------------------------------------------ real worker


@pytest.fixture
def committed_telegram(
    django_db_setup: None, committed: None, fake_llm: Any, platform_doubles: Any
) -> Iterator[tuple[TelegramApiDouble, Any]]:
    """The Telegram double on the run's port and ``connect(slug)``: a committed published chatbot of that team
    with a Telegram channel; everything is removed afterwards."""
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenant_apps.conversations.models import Participant
    from tenant_apps.pipelines.models import Pipeline
    from tenants.context import tenant_context
    from tenants.models import Team
    from tests.factories.providers import llm_provider

    made: list[tuple[Any, Any, list[Any], int]] = []
    with TelegramApiDouble(port=PLATFORM_DOUBLE_PORTS["telegram"]) as double:

        def connect(slug: str) -> Any:
            team = Team.objects.get(slug=slug)
            with tenant_context(team):
                last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
                llm = llm_provider(base_url=fake_llm.openai_base_url, name=f"Telegram live LLM {slug}")
                llm.custom_models.create(name="fake-model")
                bot = chatbot_create(name=f"Telegram live bot {slug}", created_by=None)
                version_create(chatbot=bot, actor=None, publish=True)
                provider = messaging_provider(type="telegram", name=f"Telegram live {slug}")
                channel = services.channel_create(
                    chatbot=bot, kind=ChannelKind.TELEGRAM, name="Telegram", provider=provider, user=None
                )
                secret = channel.secrets.reveal()["webhook_secret"]
            made.append((team, bot, [channel, provider, llm], last_event))
            return channel, secret

        yield double, connect
    for team, bot, (channel, provider, llm), last_event in made:
        with tenant_context(team):
            services.channel_delete(channel=channel)
            ChatSession.objects.filter(chatbot=bot).delete()
            Participant.objects.filter(platform="telegram").delete()
            Chatbot.objects.filter(pk=bot.pk).update(published_version=None)
            bot.versions.all().delete()
            Chatbot.objects.filter(pk=bot.pk).delete()
            Pipeline.objects.filter(name__startswith=bot.name).delete()
            provider.delete()
            llm.delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()


def test_a_real_worker_answers_each_bot_in_its_own_team(live_worker: Any, committed_telegram: Any) -> None:
    from tenants.context import tenant_context
    from tenants.models import Team
    from tests.conftest import TEAM_A, TEAM_B, TeamClient

    double, connect = committed_telegram
    channel_a, secret_a = connect(TEAM_A)
    channel_b, secret_b = connect(TEAM_B)
    host_a, host_b = TeamClient(f"{TEAM_A}.localhost"), TeamClient(f"{TEAM_B}.localhost")

    to_a = _deliver(host_a, channel_a, _update("hello from A", chat=1001), secret=secret_a)
    to_a_again = _deliver(host_a, channel_a, _update("hello from A", chat=1001), secret=secret_a)
    to_b = _deliver(host_b, channel_b, _update("hello from B", chat=2002), secret=secret_b)
    cross = _deliver(host_a, channel_b, _update("wrong host", chat=3003), secret=secret_b)
    deadline = time.monotonic() + 90
    while len(double.sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # a second reply (there must be none) would come now

    assert [to_a.status_code, to_a_again.status_code, to_b.status_code] == [200, 200, 200]
    assert cross.status_code == 404
    assert sorted(p["chat_id"] for p in double.sent) == ["1001", "2002"]
    assert {b["chat_id"] for b in double.bodies("sendChatAction")} == {"1001", "2002"}
    for slug, text in ((TEAM_A, "hello from A"), (TEAM_B, "hello from B")):
        with tenant_context(Team.objects.get(slug=slug)):
            [message] = ChatMessage.objects.filter(role=MessageRole.USER, session__platform="telegram", hidden=False)
            assert message.content == text
            assert message.reply.metadata["delivery"]["status"] == DeliveryStatus.SENT


# ----------------------------------------------------------------------------------------- bot-initiated messages


def test_a_scheduled_message_reaches_the_participant_on_telegram(
    channel: Any,
    team_host: Any,
    answered: Any,
    double: TelegramApiDouble,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Events (issue 18) through a platform: a message scheduled for a Telegram participant is sent by the Bot API
    to their chat when it is due, recorded like a reply."""
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.events import scheduling
    from tenant_apps.events import services as event_services

    answered(team_host, channel, _update("Remind me later"))
    participant = _participant_messages()[0].session.participant
    due = timezone.now() + timedelta(minutes=5)
    event_services.scheduled_message_create(
        chatbot=channel.chatbot, participant=participant, text="Your appointment is tomorrow at 9.", first_run_at=due
    )
    double.sent.clear()

    with django_capture_on_commit_callbacks(execute=True):
        ran = scheduling.scheduled_run_due(now=due)

    assert ran == 1
    [sent] = double.sent
    assert sent["chat_id"] == str(CHAT)
    assert "Your appointment is tomorrow at 9." in sent["text"]
    message = ChatMessage.objects.get(content="Your appointment is tomorrow at 9.")
    assert message.metadata["event_origin"] == "scheduled"
    assert Delivery.objects.get(message=message).status == DeliveryStatus.SENT

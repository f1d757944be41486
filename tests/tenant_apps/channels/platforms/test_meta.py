"""Meta's WhatsApp Cloud API and Messenger channels: the apex webhooks (verify-token handshake; bodies signed with
stdlib HMAC as Meta signs them, and tampered, wrong-secret, unsigned and replayed variants), replies through the
Graph API double (its error answers included), statuses and echoes recorded without replies, the 24-hour window,
and a real worker from webhook to the reply delivered, in the right team."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.channels import outbound, services
from tenant_apps.channels.enums import ChannelKind, DeliveryStatus
from tenant_apps.channels.models import Delivery
from tenant_apps.channels.platforms import platform_for
from tenant_apps.conversations import turns
from tenant_apps.conversations.enums import MessageRole
from tenant_apps.conversations.models import ChatMessage
from tenant_apps.providers.enums import ProviderKind
from tenant_apps.providers.services import provider_create
from tests.factories.providers import META, messaging_provider
from tests.fakes.meta_graph_api import MetaGraphApi

PHONE_NUMBER_ID = "106540352242922"
WA_ID = "15550001234"
PAGE_ID = "5550001111222"
PSID = "7001002003004005"
PAGE_TOKEN = "EAAG-page-SECRET-never-shown-0123456789"
WHATSAPP_URL = "/webhooks/meta/whatsapp/"
MESSENGER_URL = "/webhooks/meta/messenger/"


def _sign(body: bytes, secret: str = META["app_secret"]) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _whatsapp_body(
    *,
    wamid: str = "wamid.IN0001",
    text: str = "hello",
    at: float | None = None,
    phone_number_id: str = PHONE_NUMBER_ID,
    message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    message = message or {"type": "text", "text": {"body": text}}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550009999", "phone_number_id": phone_number_id},
                            "contacts": [{"profile": {"name": "Ada Lovelace"}, "wa_id": WA_ID}],
                            "messages": [
                                {"from": WA_ID, "id": wamid, "timestamp": str(int(at or time.time())), **message}
                            ],
                        },
                    }
                ],
            }
        ],
    }


def _status_body(wamid: str, status: str, **extra: Any) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550009999", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [
            {"id": wamid, "status": status, "timestamp": str(int(time.time())), "recipient_id": WA_ID, **extra}
        ],
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }


def _messenger_body(*events: dict[str, Any]) -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": list(events)}]}


def _messenger_message(mid: str = "m_IN1", text: str = "hello") -> dict[str, Any]:
    return {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": mid, "text": text},
    }


def _post(client: Any, url: str, payload: Any, *, secret: str = META["app_secret"], **headers: str) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signed = {"HTTP_X_HUB_SIGNATURE_256": _sign(body, secret), **headers}
    return client.post(url, body, content_type="application/json", **signed)


@pytest.fixture
def meta_provider(team: Any) -> Any:
    return messaging_provider(type="meta_cloud_api", name="Meta app")


@pytest.fixture
def whatsapp(published: Any, owner: Any, meta_provider: Any) -> Any:
    return services.channel_create(
        chatbot=published,
        kind=ChannelKind.META_WHATSAPP,
        name="WhatsApp",
        provider=meta_provider,
        config={"phone_number_id": PHONE_NUMBER_ID},
        user=owner,
    )


@pytest.fixture
def messenger(published: Any, owner: Any, meta_provider: Any) -> Any:
    return services.channel_create(
        chatbot=published,
        kind=ChannelKind.MESSENGER,
        name="Messenger",
        provider=meta_provider,
        config={"page_id": PAGE_ID, "page_access_token": PAGE_TOKEN},
        user=owner,
    )


@pytest.fixture
def graph(platform_doubles: dict[str, int]) -> Iterator[MetaGraphApi]:
    with MetaGraphApi(
        tokens={META["access_token"], PAGE_TOKEN},
        port=platform_doubles["meta_graph"],
        phone_numbers={PHONE_NUMBER_ID: {"display_phone_number": "+1 555-000-9999", "verified_name": "Ada's Bakery"}},
        pages={PAGE_ID: "Ada's Bakery"},
    ) as double:
        yield double


def _answer(external_id: str, capture: Any) -> None:
    """Run the turn of the stored message; its reply is sent by the (eager) send task."""
    message = ChatMessage.objects.get(external_id=external_id)
    with capture(execute=True):
        turns.turn_process(message_id=message.pk)


# --------------------------------------------------------------------------------------------------- handshake


@pytest.mark.parametrize("url", [WHATSAPP_URL, MESSENGER_URL])
def test_handshake_echoes_the_challenge_for_a_channels_verify_token(
    whatsapp: Any, messenger: Any, apex_client: Any, url: str
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": META["verify_token"], "hub.challenge": "1158201444"}

    response = apex_client.get(url, query)

    assert response.status_code == 200
    assert response.content == b"1158201444"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param({"hub.verify_token": "not-the-token", "hub.challenge": "1"}, 403, id="wrong-token"),
        pytest.param({"hub.challenge": "1"}, 400, id="no-token"),
        pytest.param({"hub.verify_token": META["verify_token"], "hub.challenge": "1", "hub.mode": "x"}, 400, id="mode"),
    ],
)
def test_handshake_refuses_a_wrong_token(whatsapp: Any, apex_client: Any, query: dict[str, str], status: int) -> None:
    response = apex_client.get(WHATSAPP_URL, {"hub.mode": "subscribe", **query})

    assert response.status_code == status
    assert response.content != b"1"


def test_handshake_of_a_deleted_channel_is_refused(whatsapp: Any, apex_client: Any, owner: Any) -> None:
    services.channel_delete(channel=whatsapp, user=owner)

    response = apex_client.get(
        WHATSAPP_URL, {"hub.mode": "subscribe", "hub.verify_token": META["verify_token"], "hub.challenge": "7"}
    )

    assert response.status_code == 403


def test_handshake_still_answers_when_the_channel_holding_the_shared_token_is_deleted(
    whatsapp: Any, published: Any, owner: Any, meta_provider: Any, apex_client: Any
) -> None:
    second = services.channel_create(
        chatbot=published,
        kind=ChannelKind.META_WHATSAPP,
        name="Second number",
        provider=meta_provider,
        config={"phone_number_id": "2000000002"},
        user=owner,
    )
    services.channel_delete(channel=whatsapp, user=owner)  # it held the verify route both channels share

    response = apex_client.get(
        WHATSAPP_URL, {"hub.mode": "subscribe", "hub.verify_token": META["verify_token"], "hub.challenge": "42"}
    )

    assert second.pk
    assert response.status_code == 200
    assert response.content == b"42"


# ------------------------------------------------------------------------------------------------ WhatsApp in


def test_signed_whatsapp_message_is_stored_and_answered_through_the_graph_api(
    whatsapp: Any,
    apex_client: Any,
    graph: MetaGraphApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response = _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.IN0001", text="hello"))
    _answer("wamid.IN0001", django_capture_on_commit_callbacks)

    assert response.status_code == 200
    message = ChatMessage.objects.select_related("session__participant").get(external_id="wamid.IN0001")
    assert message.session.participant.identifier == WA_ID
    assert message.session.participant.name == "Ada Lovelace"
    assert isinstance(message.metadata["platform_timestamp"], int)
    [request] = [r for r in graph.received if r.method == "POST"]
    assert request.path == f"/v25.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {META['access_token']}"
    assert "appsecret_proof=" in request.query
    [sent] = graph.sent
    assert sent["to"] == WA_ID
    assert sent["messaging_product"] == "whatsapp"
    assert sent["text"]["body"] == "Echo: hello"
    reply = ChatMessage.objects.get(reply_to=message)
    assert reply.metadata["platform_ids"] == ["wamid.TEST00000001"]
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.SENT


@pytest.mark.parametrize(
    ("mangle", "status", "code"),
    [
        pytest.param(lambda body, sig: (body + b" ", sig), 403, "channel.bad_signature", id="tampered"),
        pytest.param(
            lambda body, sig: (body, _sign(body, "another-app-secret-000")),
            403,
            "channel.bad_signature",
            id="wrong-secret",
        ),
        pytest.param(
            lambda body, sig: (body, sig.removeprefix("sha256=")), 403, "channel.bad_signature", id="no-prefix"
        ),
        pytest.param(lambda body, sig: (body, ""), 401, "channel.unsigned", id="missing-header"),
    ],
)
def test_badly_signed_bodies_are_refused_with_nothing_stored(
    whatsapp: Any, apex_client: Any, mangle: Any, status: int, code: str
) -> None:
    body = json.dumps(_whatsapp_body()).encode()
    body, signature = mangle(body, _sign(body))
    headers = {"HTTP_X_HUB_SIGNATURE_256": signature} if signature else {}

    response = apex_client.post(WHATSAPP_URL, body, content_type="application/json", **headers)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not ChatMessage.objects.exists()


def test_replayed_delivery_of_the_same_wamid_gives_one_reply(
    whatsapp: Any,
    apex_client: Any,
    graph: MetaGraphApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    body = json.dumps(_whatsapp_body(wamid="wamid.SAME")).encode()

    first = _post(apex_client, WHATSAPP_URL, body)
    _answer("wamid.SAME", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = _post(apex_client, WHATSAPP_URL, body)

    assert first.status_code == again.status_code == 200
    assert not callbacks  # no second turn enqueued
    assert ChatMessage.objects.filter(role=MessageRole.USER).count() == 1
    assert ChatMessage.objects.filter(role=MessageRole.ASSISTANT).count() == 1
    assert len(graph.sent) == 1


def test_body_for_a_number_nobody_routes_is_acknowledged_and_ignored(whatsapp: Any, apex_client: Any) -> None:
    response = _post(apex_client, WHATSAPP_URL, _whatsapp_body(phone_number_id="999999999"))

    assert response.status_code == 200
    assert not ChatMessage.objects.exists()


def test_body_routed_to_two_channels_is_verified_for_each_before_anything_is_stored(
    whatsapp: Any, published: Any, owner: Any, apex_client: Any
) -> None:
    other = provider_create(
        kind=ProviderKind.MESSAGING,
        type="meta_cloud_api",
        name="Other Meta app",
        config={},
        secrets={**META, "app_secret": "other-app-SECRET-never-shown-1"},
    )
    services.channel_create(
        chatbot=published,
        kind=ChannelKind.META_WHATSAPP,
        name="Second number",
        provider=other,
        config={"phone_number_id": "2000000002"},
        user=owner,
    )
    body = _whatsapp_body(wamid="wamid.A")
    second = _whatsapp_body(wamid="wamid.B", phone_number_id="2000000002")["entry"][0]
    body["entry"].append(second)

    response = _post(apex_client, WHATSAPP_URL, body)

    assert response.status_code == 403
    assert not ChatMessage.objects.exists()


def test_body_is_stored_in_the_team_its_number_routes_to(
    whatsapp: Any, other_team: Any, fake_llm: Any, apex_client: Any
) -> None:
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenants.context import tenant_context
    from tests.factories.providers import llm_provider

    with tenant_context(other_team):
        llm_provider(base_url=fake_llm.openai_base_url, name="Bravo LLM").custom_models.create(name="fake-model")
        bot = chatbot_create(name="Bravo bot", created_by=None)
        version_create(chatbot=bot, actor=None, publish=True)
        bot.refresh_from_db()
        services.channel_create(
            chatbot=bot,
            kind=ChannelKind.META_WHATSAPP,
            name="Bravo WhatsApp",
            provider=messaging_provider(type="meta_cloud_api", name="Bravo Meta"),
            config={"phone_number_id": "3000000003"},
        )

    response = _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.BRAVO", phone_number_id="3000000003"))

    assert response.status_code == 200
    assert not ChatMessage.objects.filter(external_id="wamid.BRAVO").exists()  # not in team A
    with tenant_context(other_team):
        assert ChatMessage.objects.get(external_id="wamid.BRAVO").session.chatbot_id == bot.pk


def test_disabled_channel_acknowledges_and_stores_nothing(whatsapp: Any, apex_client: Any, owner: Any) -> None:
    services.channel_set_enabled(channel=whatsapp, enabled=False, user=owner)

    response = _post(apex_client, WHATSAPP_URL, _whatsapp_body())

    assert response.status_code == 200
    assert not ChatMessage.objects.exists()


def test_image_message_keeps_its_media_id_and_caption(whatsapp: Any, apex_client: Any) -> None:
    image = {"type": "image", "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc="}}
    captioned = {"type": "document", "document": {"id": "42", "filename": "menu.pdf", "caption": "our menu?"}}

    _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.IMG", message=image))
    _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.DOC", message=captioned))

    photo = ChatMessage.objects.get(external_id="wamid.IMG")
    assert photo.content == "[image]"
    assert photo.metadata["platform_media"] == [
        {"type": "image", "id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "abc="}
    ]
    document = ChatMessage.objects.get(external_id="wamid.DOC")
    assert document.content == "our menu?"
    assert document.metadata["platform_media"][0]["filename"] == "menu.pdf"


# ------------------------------------------------------------------------------------------ WhatsApp statuses


def test_statuses_are_recorded_on_the_reply_without_a_reply_and_never_go_backwards(
    whatsapp: Any,
    apex_client: Any,
    graph: MetaGraphApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.Q"))
    _answer("wamid.Q", django_capture_on_commit_callbacks)
    reply = ChatMessage.objects.get(role=MessageRole.ASSISTANT)
    [wamid] = reply.metadata["platform_ids"]

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for status in ("delivered", "read", "delivered"):
            assert _post(apex_client, WHATSAPP_URL, _status_body(wamid, status)).status_code == 200

    reply.refresh_from_db()
    assert reply.metadata["platform_status"]["status"] == "read"
    assert not callbacks
    assert ChatMessage.objects.count() == 2
    assert len(graph.sent) == 1


def test_failed_status_fails_the_replys_delivery_with_whatsapps_reason(
    whatsapp: Any,
    apex_client: Any,
    graph: MetaGraphApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.F"))
    _answer("wamid.F", django_capture_on_commit_callbacks)
    reply = ChatMessage.objects.get(role=MessageRole.ASSISTANT)
    errors = [{"code": 131026, "title": "Message undeliverable", "error_data": {"details": "not on WhatsApp"}}]

    _post(apex_client, WHATSAPP_URL, _status_body(reply.metadata["platform_ids"][0], "failed", errors=errors))

    delivery = Delivery.objects.get(message=reply)
    assert delivery.status == DeliveryStatus.FAILED
    assert "131026" in delivery.error
    assert "Message undeliverable" in delivery.error
    reply.refresh_from_db()
    assert reply.metadata["delivery"]["status"] == "failed"


# ----------------------------------------------------------------------------------------- the 24-hour window


def test_reply_outside_the_24_hour_window_is_refused_before_anything_is_sent(
    whatsapp: Any,
    apex_client: Any,
    graph: MetaGraphApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.OLD", at=time.time() - 25 * 3600))

    _answer("wamid.OLD", django_capture_on_commit_callbacks)

    reply = ChatMessage.objects.get(role=MessageRole.ASSISTANT)
    assert graph.sent == []
    delivery = Delivery.objects.get(message=reply)
    assert delivery.status == DeliveryStatus.FAILED
    assert "24 hours" in delivery.error
    assert reply.metadata["platform_error"] == "channel.outside_window"
    assert reply.metadata["delivery"]["status"] == "failed"


@pytest.mark.parametrize(
    ("hours_ago", "sent"), [pytest.param(30, False, id="outside"), pytest.param(23, True, id="inside")]
)
def test_bot_initiated_message_is_held_to_the_window_too(
    whatsapp: Any, apex_client: Any, graph: MetaGraphApi, hours_ago: int, sent: bool
) -> None:
    _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.W", at=time.time() - hours_ago * 3600))
    session = ChatMessage.objects.get(external_id="wamid.W").session
    pushed = ChatMessage.objects.create(session=session, role=MessageRole.ASSISTANT, content="Our shop opens today!")
    pushed = ChatMessage.objects.select_related("session__participant").get(pk=pushed.pk)
    send = platform_for(ChannelKind.META_WHATSAPP).send  # type: ignore[union-attr]

    if sent:
        send(whatsapp, pushed)
    else:
        with pytest.raises(ApplicationError) as refused:
            send(whatsapp, pushed)
        assert refused.value.code == "channel.outside_window"

    assert [body["text"]["body"] for body in graph.sent] == (["Our shop opens today!"] if sent else [])


# ------------------------------------------------------------------------------------------- Graph API errors


def _stored_reply(channel: Any, apex_client: Any, content: str) -> ChatMessage:
    _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.E"))
    source = ChatMessage.objects.get(external_id="wamid.E")
    reply = ChatMessage.objects.create(
        session=source.session, role=MessageRole.ASSISTANT, content=content, reply_to=source
    )
    return ChatMessage.objects.select_related("session__participant", "reply_to").get(pk=reply.pk)


@pytest.mark.parametrize(
    ("failure", "transient", "code"),
    [
        pytest.param({"status": 429, "code": 4, "retry_after": "7"}, True, "channel.platform_busy", id="rate-limit"),
        pytest.param({"status": 400, "code": 130429}, True, "channel.platform_busy", id="throughput"),
        pytest.param({"status": 400, "code": 80007}, True, "channel.platform_busy", id="waba-rate-limit"),
        pytest.param({"status": 503, "code": 2}, True, "channel.platform_busy", id="5xx"),
        pytest.param({"status": 400, "code": 131047}, False, "channel.outside_window", id="re-engagement"),
        pytest.param({"status": 400, "code": 100}, False, "channel.platform_refused", id="invalid-parameter"),
    ],
)
def test_graph_errors_are_retried_or_final(
    whatsapp: Any, apex_client: Any, graph: MetaGraphApi, failure: dict[str, Any], transient: bool, code: str
) -> None:
    reply = _stored_reply(whatsapp, apex_client, "hi there")
    graph.fail(message="Meta says no", **failure)

    if transient:
        with pytest.raises(outbound.TransientSendError) as raised:
            outbound.reply_send(message_id=reply.pk, final_attempt=False)
        assert raised.value.code == code
        assert raised.value.extra.get("retry_after") == failure.get("retry_after")
        assert Delivery.objects.get(message=reply).status == DeliveryStatus.RETRYING
    else:
        outbound.reply_send(message_id=reply.pk, final_attempt=False)
        delivery = Delivery.objects.get(message=reply)
        assert delivery.status == DeliveryStatus.FAILED
        assert "Meta says no" in delivery.error
        reply.refresh_from_db()
        assert reply.metadata["platform_error"] == code


def test_long_reply_is_split_and_a_retry_sends_only_the_missing_parts(
    whatsapp: Any, apex_client: Any, graph: MetaGraphApi
) -> None:
    reply = _stored_reply(whatsapp, apex_client, ("A sentence of some length. " * 40 + "\n\n") * 9)

    graph.fail_after(1, status=500, code=2, message="Service temporarily unavailable")

    with pytest.raises(outbound.TransientSendError):
        outbound.reply_send(message_id=reply.pk, final_attempt=False)
    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    bodies = [part["text"]["body"] for part in graph.sent]
    assert len(bodies) == 4  # 3 parts, the second tried twice
    assert bodies[1] == bodies[2]
    assert all(len(body) <= 4096 for body in bodies)
    assert "".join(bodies[i] for i in (0, 2, 3)).replace("\n", "").replace(" ", "") == reply.content.replace(
        "\n", ""
    ).replace(" ", "")
    reply.refresh_from_db()
    assert len(reply.metadata["platform_ids"]) == 3
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.SENT


def test_markdown_is_converted_to_whatsapp_formatting(whatsapp: Any, apex_client: Any, graph: MetaGraphApi) -> None:
    reply = _stored_reply(whatsapp, apex_client, "## Hours\n**Open** today, see [our site](https://example.com).")

    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert graph.sent[0]["text"]["body"] == "*Hours*\n*Open* today, see our site (https://example.com)."


def test_test_connection_reads_the_number_and_the_page(whatsapp: Any, messenger: Any, graph: MetaGraphApi) -> None:
    wa = platform_for(ChannelKind.META_WHATSAPP).test_connection(whatsapp)  # type: ignore[union-attr,misc]
    page = platform_for(ChannelKind.MESSENGER).test_connection(messenger)  # type: ignore[union-attr,misc]

    assert wa.ok
    assert "+1 555-000-9999" in wa.message
    assert "Ada's Bakery" in wa.message
    assert page.ok
    assert "Ada's Bakery" in page.message
    gets = [r for r in graph.received if r.method == "GET"]
    assert "fields=display_phone_number%2Cverified_name" in gets[0].query
    assert gets[1].headers["authorization"] == f"Bearer {PAGE_TOKEN}"


def test_test_connection_reports_a_refused_token(whatsapp: Any, graph: MetaGraphApi) -> None:
    graph.fail(status=401, code=190, message="Error validating access token: Session has expired")

    result = platform_for(ChannelKind.META_WHATSAPP).test_connection(whatsapp)  # type: ignore[union-attr,misc]

    assert not result.ok
    assert "Session has expired" in result.message
    assert META["access_token"] not in result.message


# ------------------------------------------------------------------------------------------------- Messenger


def test_signed_messenger_message_is_answered_with_the_page_token(
    messenger: Any,
    apex_client: Any,
    graph: MetaGraphApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response = _post(apex_client, MESSENGER_URL, _messenger_body(_messenger_message("m_IN1", "**hi**")))
    _answer("m_IN1", django_capture_on_commit_callbacks)

    assert response.status_code == 200
    [request] = [r for r in graph.received if r.method == "POST"]
    assert request.path == f"/v25.0/{PAGE_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
    [sent] = graph.sent
    assert sent == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {"text": "Echo: hi"}}
    reply = ChatMessage.objects.get(role=MessageRole.ASSISTANT)
    assert reply.metadata["platform_ids"] == ["m_TEST1"]


def test_messenger_echo_delivery_and_read_are_recorded_without_replies(
    messenger: Any,
    apex_client: Any,
    graph: MetaGraphApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _post(apex_client, MESSENGER_URL, _messenger_body(_messenger_message("m_IN2")))
    _answer("m_IN2", django_capture_on_commit_callbacks)
    reply = ChatMessage.objects.get(role=MessageRole.ASSISTANT)
    [mid] = reply.metadata["platform_ids"]
    now = int(time.time() * 1000) + 1000
    echo = {"sender": {"id": PAGE_ID}, "recipient": {"id": PSID}, "message": {"mid": mid, "is_echo": True, "text": "x"}}
    stranger_echo = {**echo, "message": {"mid": "m_HUMAN", "is_echo": True, "text": "a person answered"}}
    delivered = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "delivery": {"mids": [mid], "watermark": now}}
    read = {"sender": {"id": PSID}, "recipient": {"id": PAGE_ID}, "read": {"watermark": now}}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _post(apex_client, MESSENGER_URL, _messenger_body(echo, stranger_echo, delivered, read))

    assert response.status_code == 200
    assert not callbacks
    assert ChatMessage.objects.count() == 2
    reply.refresh_from_db()
    assert reply.metadata["platform_status"]["status"] == "read"
    assert len(graph.sent) == 1


def test_messenger_postback_is_received_as_its_title(messenger: Any, apex_client: Any) -> None:
    tapped = {
        "sender": {"id": PSID},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "postback": {"mid": "m_POSTBACK", "title": "Get Started", "payload": "GET_STARTED"},
    }

    response = _post(apex_client, MESSENGER_URL, _messenger_body(tapped))

    assert response.status_code == 200
    assert ChatMessage.objects.get(external_id="m_POSTBACK").content == "Get Started"


def test_messenger_body_with_a_wrong_signature_is_refused(messenger: Any, apex_client: Any) -> None:
    response = _post(apex_client, MESSENGER_URL, _messenger_body(_messenger_message()), secret="wrong-secret-000000")

    assert response.status_code == 403
    assert not ChatMessage.objects.exists()


def test_messenger_reply_is_split_at_2000_characters(messenger: Any, apex_client: Any, graph: MetaGraphApi) -> None:
    _post(apex_client, MESSENGER_URL, _messenger_body(_messenger_message("m_LONG")))
    source = ChatMessage.objects.get(external_id="m_LONG")
    reply = ChatMessage.objects.create(
        session=source.session, role=MessageRole.ASSISTANT, content="word " * 900, reply_to=source
    )

    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert [len(part["message"]["text"]) <= 2000 for part in graph.sent] == [True, True, True]


def test_messenger_without_a_page_token_fails_for_good_with_a_clear_message(
    published: Any, owner: Any, meta_provider: Any, apex_client: Any, graph: MetaGraphApi
) -> None:
    services.channel_create(
        chatbot=published,
        kind=ChannelKind.MESSENGER,
        name="No token",
        provider=meta_provider,
        config={"page_id": PAGE_ID},
        user=owner,
    )
    _post(apex_client, MESSENGER_URL, _messenger_body(_messenger_message("m_NOTOKEN")))
    source = ChatMessage.objects.get(external_id="m_NOTOKEN")
    reply = ChatMessage.objects.create(
        session=source.session, role=MessageRole.ASSISTANT, content="hi", reply_to=source
    )

    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert Delivery.objects.get(message=reply).error == "Enter the Page access token in the channel's settings."
    assert graph.received == []


# ------------------------------------------------------------------------------------------------ channel page


def test_channel_page_shows_the_apex_webhook_url_and_setup_but_no_secret(
    messenger: Any, whatsapp: Any, published: Any, client_for: Any, team: Any, owner: Any
) -> None:
    client = client_for(team, owner)

    pages = [
        client.get(f"/chatbots/{published.pk}/channels/{channel.pk}/").content.decode()
        for channel in (whatsapp, messenger)
    ]

    assert "/webhooks/meta/whatsapp/" in pages[0]
    assert "Phone number ID" in pages[0]
    assert "/webhooks/meta/messenger/" in pages[1]
    assert "message_echoes" in pages[1]
    for page in pages:
        assert PAGE_TOKEN not in page
        assert META["app_secret"] not in page
        assert META["verify_token"] not in page


def test_test_connection_button_reports_on_the_channel_page(
    whatsapp: Any, published: Any, client_for: Any, team: Any, owner: Any, graph: MetaGraphApi
) -> None:
    client = client_for(team, owner)

    response = client.post(f"/chatbots/{published.pk}/channels/{whatsapp.pk}/test/", follow=True)

    assert response.status_code == 200
    assert "Connected to WhatsApp number +1 555-000-9999" in response.content.decode()


def test_phone_number_id_must_be_digits(published: Any, owner: Any, meta_provider: Any) -> None:
    with pytest.raises(ApplicationError) as refused:
        services.channel_create(
            chatbot=published,
            kind=ChannelKind.META_WHATSAPP,
            name="Bad",
            provider=meta_provider,
            config={"phone_number_id": "+1 555 000"},
            user=owner,
        )

    assert refused.value.code == "channel.invalid_phone_number_id"


# ----------------------------------------------------------------------------------------------- real worker


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def live_apex(django_db_setup: None, committed: None) -> Iterator[str]:
    from django.core.handlers.wsgi import WSGIHandler

    server = make_server("127.0.0.1", 0, WSGIHandler(), server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def live_whatsapp(live_apex: str, fake_llm: Any) -> Iterator[Any]:
    """Team A's committed chatbot (published, on the fake model) with a WhatsApp channel; removed afterwards."""
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenant_apps.pipelines.models import Pipeline
    from tenants.context import tenant_context
    from tenants.models import Team
    from tests.factories.providers import llm_provider

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        llm = llm_provider(base_url=fake_llm.openai_base_url, name="Meta live LLM")
        llm.custom_models.create(name="fake-model")
        bot = chatbot_create(name="Meta live bot", created_by=None)
        version_create(chatbot=bot, actor=None)
        bot.refresh_from_db()
        meta = messaging_provider(type="meta_cloud_api", name="Meta live app")
        channel = services.channel_create(
            chatbot=bot,
            kind=ChannelKind.META_WHATSAPP,
            name="Live WhatsApp",
            provider=meta,
            config={"phone_number_id": PHONE_NUMBER_ID},
        )
    try:
        yield team, channel
    finally:
        with tenant_context(team):
            services.channel_delete(channel=channel)
            ChatSession.objects.filter(chatbot=bot).delete()
            Participant.objects.filter(platform="whatsapp").delete()
            Chatbot.objects.filter(pk=bot.pk).update(published_version=None)
            bot.versions.all().delete()
            Chatbot.objects.filter(pk=bot.pk).delete()
            Pipeline.objects.filter(name__startswith=bot.name).delete()
            meta.delete()
            llm.delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()


@pytest.mark.worker
def test_real_worker_answers_a_signed_webhook_on_the_graph_double_in_the_right_team(
    live_worker: Any, live_apex: str, live_whatsapp: Any, graph: MetaGraphApi
) -> None:
    from tenants.context import tenant_context

    team, channel = live_whatsapp
    body = json.dumps(_whatsapp_body(wamid="wamid.LIVE1", text="hello from the phone")).encode()
    headers = {"Host": "localhost", "Content-Type": "application/json", "X-Hub-Signature-256": _sign(body)}

    acks = [httpx.post(f"{live_apex}{WHATSAPP_URL}", content=body, headers=headers, timeout=30) for _ in range(2)]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not graph.sent:
        time.sleep(0.2)
    time.sleep(1.0)  # a second reply, if there were one, would arrive now

    assert [ack.status_code for ack in acks] == [200, 200]
    [sent] = graph.sent
    assert sent["to"] == WA_ID
    assert sent["text"]["body"] == "Echo: hello from the phone"
    with tenant_context(team):
        reply = ChatMessage.objects.get(reply_to__external_id="wamid.LIVE1")
        assert reply.session.channel_link.channel_id == channel.pk
        deadline = time.monotonic() + 30
        while Delivery.objects.get(message=reply).status != DeliveryStatus.SENT and time.monotonic() < deadline:
            time.sleep(0.2)
        assert Delivery.objects.get(message=reply).status == DeliveryStatus.SENT


def test_webhook_acknowledgement_stays_within_its_queries(
    whatsapp: Any, apex_client: Any, django_assert_max_num_queries: Any
) -> None:
    _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.WARM"))  # the participant and session exist now

    # route, channel, participant, redelivery check, open session, session link, lock, insert (+ search paths and
    # savepoints of the test's transaction)
    with django_assert_max_num_queries(16):
        response = _post(apex_client, WHATSAPP_URL, _whatsapp_body(wamid="wamid.NEXT"))

    assert response.status_code == 200

"""Twilio WhatsApp and SMS channels: the per-channel webhooks on the team host (requests signed with the official
``RequestValidator.compute_signature``, and tampered, wrong-token, wrong-URL and unsigned variants), replies through
the REST API double (its error answers included), status callbacks, opt-out, test connection, and a real worker
from webhook to the reply delivered, in the right team."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest
from twilio.request_validator import RequestValidator

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.channels import outbound, services
from tenant_apps.channels.enums import ChannelKind, DeliveryStatus
from tenant_apps.channels.models import Delivery
from tenant_apps.channels.platforms import platform_for
from tenant_apps.conversations import turns
from tenant_apps.conversations.enums import MessageRole, SessionStatus
from tenant_apps.conversations.models import ChatMessage
from tests.factories.providers import TWILIO_SID, TWILIO_TOKEN, messaging_provider
from tests.fakes.twilio_api import TwilioApi

NUMBER = "+14155238886"
PHONE = "+27456897512"
SMS_NUMBER = "+15017122661"
FORM = "application/x-www-form-urlencoded"


def _url(channel: Any, status: bool = False) -> str:
    return f"/api/channels/{channel.public_id}/twilio/" + ("status/" if status else "")


def _params(channel: Any, sid: str = "SM" + "a" * 32, body: str = "hello", **extra: str) -> dict[str, str]:
    whatsapp = channel.kind == ChannelKind.TWILIO_WHATSAPP
    prefix = "whatsapp:" if whatsapp else ""
    params = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": prefix + (NUMBER if whatsapp else SMS_NUMBER),
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": prefix + PHONE,
        "ApiVersion": "2010-04-01",
    }
    if whatsapp:
        params.update({"ProfileName": "Ada Lovelace", "WaId": PHONE[1:], "MessageType": "text"})
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def _sign(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def _post(client: Any, channel: Any, params: dict[str, str], *, status: bool = False, **headers: str) -> Any:
    path = _url(channel, status)
    if "HTTP_X_TWILIO_SIGNATURE" not in headers:
        headers["HTTP_X_TWILIO_SIGNATURE"] = _sign(f"http://{client.host}{path}", params)
    return client.post(path, urlencode(params), content_type=FORM, **headers)


@pytest.fixture
def twilio_provider(team: Any) -> Any:
    return messaging_provider(type="twilio", name="Twilio account")


@pytest.fixture
def whatsapp(published: Any, owner: Any, twilio_provider: Any) -> Any:
    return services.channel_create(
        chatbot=published,
        kind=ChannelKind.TWILIO_WHATSAPP,
        name="WhatsApp",
        provider=twilio_provider,
        config={"phone_number": "whatsapp:+1 (415) 523-8886"},
        user=owner,
    )


@pytest.fixture
def sms(published: Any, owner: Any, twilio_provider: Any) -> Any:
    return services.channel_create(
        chatbot=published,
        kind=ChannelKind.TWILIO_SMS,
        name="SMS",
        provider=twilio_provider,
        config={"phone_number": SMS_NUMBER},
        user=owner,
    )


@pytest.fixture
def api(platform_doubles: dict[str, int]) -> Iterator[TwilioApi]:
    with TwilioApi(
        account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN, port=platform_doubles["twilio"], numbers=[SMS_NUMBER]
    ) as double:
        yield double


@pytest.fixture
def team_client(team: Any, client_for: Any) -> Any:
    return client_for(team)


def _answer(external_id: str, capture: Any) -> None:
    """Run the turn of the stored message; its reply is sent by the (eager) send task."""
    message = ChatMessage.objects.get(external_id=external_id)
    with capture(execute=True):
        turns.turn_process(message_id=message.pk)


# ------------------------------------------------------------------------------------------------------- in


def test_signed_whatsapp_message_is_stored_and_answered_through_the_rest_api(
    whatsapp: Any,
    team_client: Any,
    api: TwilioApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response = _post(team_client, whatsapp, _params(whatsapp, sid="SMIN1", body="hello"))
    _answer("SMIN1", django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response/>" in response.content
    message = ChatMessage.objects.select_related("session__participant").get(external_id="SMIN1")
    assert message.session.participant.identifier == PHONE
    assert message.session.participant.name == "Ada Lovelace"
    [request] = [r for r in api.received if r.method == "POST"]
    assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    [sent] = api.sent
    assert sent["From"] == f"whatsapp:{NUMBER}"
    assert sent["To"] == f"whatsapp:{PHONE}"
    assert sent["Body"] == "Echo: hello"
    assert sent["StatusCallback"].endswith(_url(whatsapp, status=True))
    reply = ChatMessage.objects.get(reply_to=message)
    assert reply.metadata["platform_ids"] == ["SM" + "0" * 31 + "1"]
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.SENT


def test_sms_message_is_answered_from_the_plain_number(
    sms: Any,
    team_client: Any,
    api: TwilioApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    response = _post(team_client, sms, _params(sms, sid="SMSMS1", body="**bold** hi"))
    _answer("SMSMS1", django_capture_on_commit_callbacks)

    assert response.status_code == 200
    message = ChatMessage.objects.select_related("session").get(external_id="SMSMS1")
    assert message.session.platform == "sms"
    [sent] = api.sent
    assert (sent["From"], sent["To"]) == (SMS_NUMBER, PHONE)
    assert sent["Body"] == "Echo: bold hi"  # plain text for SMS


def _mangled(channel: Any, client: Any, how: str) -> tuple[dict[str, str], dict[str, str]]:
    params = _params(channel)
    url = f"http://{client.host}{_url(channel)}"
    signature = _sign(url, params)
    if how == "tampered":
        params = {**params, "Body": "transfer all the money"}
    elif how == "wrong-token":
        signature = _sign(url, params, "another-auth-token-0123456789")
    elif how == "wrong-url":
        signature = _sign(f"https://evil.example.com{_url(channel)}", params)
    elif how == "other-channel-url":
        signature = _sign(f"http://{client.host}/api/channels/00000000-0000-0000-0000-000000000000/twilio/", params)
    elif how == "extra-param":
        params = {**params, "NumMedia": "1", "MediaUrl0": "https://example.com/x.png"}
    headers = {"HTTP_X_TWILIO_SIGNATURE": signature} if how != "missing" else {"HTTP_X_TWILIO_SIGNATURE": ""}
    return params, headers


@pytest.mark.parametrize(
    ("how", "code"),
    [
        pytest.param("tampered", "channel.bad_signature", id="tampered"),
        pytest.param("wrong-token", "channel.bad_signature", id="wrong-token"),
        pytest.param("wrong-url", "channel.bad_signature", id="wrong-url"),
        pytest.param("other-channel-url", "channel.bad_signature", id="other-channel-url"),
        pytest.param("extra-param", "channel.bad_signature", id="extra-param"),
        pytest.param("missing", "channel.unsigned", id="missing-header"),
    ],
)
def test_badly_signed_requests_are_refused_with_nothing_stored(
    whatsapp: Any, team_client: Any, how: str, code: str
) -> None:
    params, headers = _mangled(whatsapp, team_client, how)

    response = team_client.post(_url(whatsapp), urlencode(params), content_type=FORM, **headers)

    assert response.status_code == 403
    assert response.json()["code"] == code
    assert not ChatMessage.objects.exists()


def test_message_for_another_number_is_refused(whatsapp: Any, team_client: Any) -> None:
    response = _post(team_client, whatsapp, _params(whatsapp, To="whatsapp:+15550000000"))

    assert response.status_code == 400
    assert response.json()["code"] == "channel.wrong_number"
    assert not ChatMessage.objects.exists()


def test_sms_number_without_the_whatsapp_prefix_is_not_the_whatsapp_channels(whatsapp: Any, team_client: Any) -> None:
    response = _post(team_client, whatsapp, _params(whatsapp, To=NUMBER))

    assert response.status_code == 400


def test_unknown_channel_is_404(team_client: Any, whatsapp: Any) -> None:
    params = _params(whatsapp)
    path = "/api/channels/00000000-0000-0000-0000-000000000000/twilio/"

    signature = _sign(f"http://{team_client.host}{path}", params)

    response = team_client.post(path, urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 404


def test_redelivery_of_the_same_message_sid_gives_one_reply(
    whatsapp: Any,
    team_client: Any,
    api: TwilioApi,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    params = _params(whatsapp, sid="SMSAME")

    first = _post(team_client, whatsapp, params)
    _answer("SMSAME", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = _post(team_client, whatsapp, params)

    assert first.status_code == again.status_code == 200
    assert not callbacks  # no second turn enqueued
    assert ChatMessage.objects.filter(role=MessageRole.USER).count() == 1
    assert ChatMessage.objects.filter(role=MessageRole.ASSISTANT).count() == 1
    assert len(api.sent) == 1


def test_media_arrives_as_attachments_metadata(whatsapp: Any, team_client: Any) -> None:
    params = _params(
        whatsapp,
        sid="SMMEDIA",
        body="",
        NumMedia="2",
        MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
        MediaContentType0="image/jpeg",
        MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2",
        MediaContentType1="application/pdf",
        MessageType="image",
    )

    response = _post(team_client, whatsapp, params)

    assert response.status_code == 200
    message = ChatMessage.objects.get(external_id="SMMEDIA")
    assert message.content == "[image] [application]"
    assert [m["content_type"] for m in message.metadata["platform_media"]] == ["image/jpeg", "application/pdf"]
    assert message.metadata["platform_media"][0]["url"].endswith("/ME1")


def test_whatsapp_location_is_received_as_its_coordinates(whatsapp: Any, team_client: Any) -> None:
    params = _params(whatsapp, sid="SMLOC", body="", Latitude="-33.9249", Longitude="18.4241", MessageType="location")

    response = _post(team_client, whatsapp, params)

    assert response.status_code == 200
    assert ChatMessage.objects.get(external_id="SMLOC").content == "[location] -33.9249,18.4241"


def test_disabled_channel_answers_its_message_in_twiml_and_stores_nothing(
    whatsapp: Any, team_client: Any, owner: Any
) -> None:
    whatsapp.enabled = False
    whatsapp.disabled_message = "Closed <for now>"
    whatsapp.save()

    response = _post(team_client, whatsapp, _params(whatsapp))

    assert response.status_code == 200
    assert b"<Message>Closed &lt;for now&gt;</Message>" in response.content
    assert not ChatMessage.objects.exists()


# ------------------------------------------------------------------------------------------------ REST errors


def _stored_reply(channel: Any, client: Any, content: str) -> ChatMessage:
    _post(client, channel, _params(channel, sid="SME"))
    source = ChatMessage.objects.get(external_id="SME")
    reply = ChatMessage.objects.create(
        session=source.session, role=MessageRole.ASSISTANT, content=content, reply_to=source
    )
    return ChatMessage.objects.select_related("session__participant", "reply_to").get(pk=reply.pk)


@pytest.mark.parametrize(
    ("failure", "transient", "code"),
    [
        pytest.param({"status": 429, "code": 20429, "retry_after": "7"}, True, "twilio.rate_limited", id="429"),
        pytest.param({"status": 503, "code": 20503}, True, "twilio.unavailable", id="5xx"),
        pytest.param({"status": 400, "code": 21211}, False, "twilio.refused", id="invalid-number"),
        pytest.param({"status": 400, "code": 63016}, False, "channel.outside_window", id="whatsapp-window"),
        pytest.param({"status": 401, "code": 20003}, False, "twilio.refused", id="authenticate"),
    ],
)
def test_rest_errors_are_retried_or_final(
    whatsapp: Any, team_client: Any, api: TwilioApi, failure: dict[str, Any], transient: bool, code: str
) -> None:
    reply = _stored_reply(whatsapp, team_client, "hi there")
    api.fail(message="Twilio says no", **failure)

    if transient:
        with pytest.raises(outbound.TransientSendError) as raised:
            outbound.reply_send(message_id=reply.pk, final_attempt=False)
        assert raised.value.code == code
        expected = int(failure["retry_after"]) if "retry_after" in failure else None
        assert raised.value.extra.get("retry_after") == expected
        assert Delivery.objects.get(message=reply).status == DeliveryStatus.RETRYING
    else:
        outbound.reply_send(message_id=reply.pk, final_attempt=False)
        delivery = Delivery.objects.get(message=reply)
        assert delivery.status == DeliveryStatus.FAILED
        assert "Twilio says no" in delivery.error
        assert str(failure["code"]) in delivery.error
        reply.refresh_from_db()
        assert reply.metadata["platform_error"] == code


def test_network_failure_is_transient(whatsapp: Any, team_client: Any, settings: Any) -> None:
    reply = _stored_reply(whatsapp, team_client, "hi there")
    settings.PLATFORM_API_URLS = {**settings.PLATFORM_API_URLS, "twilio": "http://127.0.0.1:9"}

    with pytest.raises(outbound.TransientSendError) as raised:
        outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert raised.value.code == "twilio.unreachable"


def test_unsubscribed_participant_ends_the_session_and_later_replies_are_not_sent(
    sms: Any, team_client: Any, api: TwilioApi
) -> None:
    reply = _stored_reply(sms, team_client, "hi there")
    api.fail(status=400, code=21610, message="Attempt to send to unsubscribed recipient")

    outbound.reply_send(message_id=reply.pk, final_attempt=False)
    later = ChatMessage.objects.create(session=reply.session, role=MessageRole.ASSISTANT, content="anyone there?")
    outbound.reply_send(message_id=later.pk, final_attempt=False)

    reply.session.refresh_from_db()
    assert reply.session.status == SessionStatus.ENDED
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.FAILED
    assert Delivery.objects.get(message=later).status == DeliveryStatus.FAILED
    assert "unsubscribed" in Delivery.objects.get(message=later).error
    assert len([r for r in api.received if r.method == "POST"]) == 1  # the later one never reached Twilio


def test_stop_keyword_ends_the_session_without_storing_or_answering(sms: Any, team_client: Any) -> None:
    _post(team_client, sms, _params(sms, sid="SM1"))
    session = ChatMessage.objects.get(external_id="SM1").session

    response = _post(team_client, sms, _params(sms, sid="SM2", body="Stop", OptOutType="STOP"))

    assert response.status_code == 200
    assert not ChatMessage.objects.filter(external_id="SM2").exists()
    session.refresh_from_db()
    assert session.status == SessionStatus.ENDED


def test_message_after_start_opens_a_new_session(sms: Any, team_client: Any) -> None:
    _post(team_client, sms, _params(sms, sid="SM1"))
    _post(team_client, sms, _params(sms, sid="SM2", body="STOP"))

    _post(team_client, sms, _params(sms, sid="SM3", body="START"))

    first, last = (ChatMessage.objects.get(external_id=s).session for s in ("SM1", "SM3"))
    assert first.pk != last.pk
    assert last.status != SessionStatus.ENDED


def test_long_sms_is_split_at_1600_and_a_retry_sends_only_the_missing_parts(
    sms: Any, team_client: Any, api: TwilioApi
) -> None:
    reply = _stored_reply(sms, team_client, "A sentence of some length. " * 150)  # 4,050 characters
    api.fail_after(1, status=500, code=20500, message="Internal Server Error")

    with pytest.raises(outbound.TransientSendError):
        outbound.reply_send(message_id=reply.pk, final_attempt=False)
    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    bodies = [part["Body"] for part in api.sent]
    assert len(bodies) == 4  # 3 parts, the second tried twice
    assert bodies[1] == bodies[2]
    assert all(len(body) <= 1600 for body in bodies)
    assert all(body.endswith(".") for body in bodies[:3])  # cut at a sentence
    assert " ".join(bodies[i] for i in (0, 2, 3)).split() == reply.content.split()
    reply.refresh_from_db()
    assert len(reply.metadata["platform_ids"]) == 3
    assert Delivery.objects.get(message=reply).status == DeliveryStatus.SENT


def test_long_whatsapp_reply_is_split_at_4096(whatsapp: Any, team_client: Any, api: TwilioApi) -> None:
    reply = _stored_reply(whatsapp, team_client, "word " * 1500)

    outbound.reply_send(message_id=reply.pk, final_attempt=False)

    assert [len(p["Body"]) <= 4096 for p in api.sent] == [True, True]


# ------------------------------------------------------------------------------------------- status callbacks


def test_status_callbacks_are_recorded_on_the_reply_and_never_go_backwards(
    whatsapp: Any, team_client: Any, api: TwilioApi
) -> None:
    reply = _stored_reply(whatsapp, team_client, "hi there")
    outbound.reply_send(message_id=reply.pk, final_attempt=False)
    reply.refresh_from_db()
    [sid] = reply.metadata["platform_ids"]

    for status in ("sent", "read", "delivered"):
        params = {"MessageSid": sid, "MessageStatus": status, "To": f"whatsapp:{PHONE}", "From": f"whatsapp:{NUMBER}"}
        assert _post(team_client, whatsapp, params, status=True).status_code == 200

    reply.refresh_from_db()
    assert reply.metadata["platform_status"]["status"] == "read"
    assert ChatMessage.objects.count() == 2  # no reply to a status


def test_undelivered_status_fails_the_delivery_with_twilios_error_code(
    sms: Any, team_client: Any, api: TwilioApi
) -> None:
    reply = _stored_reply(sms, team_client, "hi there")
    outbound.reply_send(message_id=reply.pk, final_attempt=False)
    reply.refresh_from_db()
    [sid] = reply.metadata["platform_ids"]
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003", "To": PHONE, "From": SMS_NUMBER}

    response = _post(team_client, sms, params, status=True)

    assert response.status_code == 200
    delivery = Delivery.objects.get(message=reply)
    assert delivery.status == DeliveryStatus.FAILED
    assert "30003" in delivery.error
    reply.refresh_from_db()
    assert reply.metadata["delivery"]["status"] == DeliveryStatus.FAILED


def test_unsigned_status_callback_is_refused(sms: Any, team_client: Any) -> None:
    params = {"MessageSid": "SM1", "MessageStatus": "failed", "To": PHONE}

    response = team_client.post(
        _url(sms, status=True), urlencode(params), content_type=FORM, HTTP_X_TWILIO_SIGNATURE="bm90IGEgc2lnbmF0dXJl"
    )

    assert response.status_code == 403


# ------------------------------------------------------------------------------------- configuration and page


@pytest.mark.parametrize("number", ["14155238886", "+0123456789", "+1 415 CALL NOW", ""])
def test_phone_number_must_be_e164(published: Any, owner: Any, twilio_provider: Any, number: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        services.channel_create(
            chatbot=published,
            kind=ChannelKind.TWILIO_SMS,
            name="Bad",
            provider=twilio_provider,
            config={"phone_number": number},
            user=owner,
        )

    assert refused.value.code == "channel.invalid_phone_number"


def test_number_is_stored_normalised(whatsapp: Any) -> None:
    assert whatsapp.config == {"phone_number": NUMBER}


def test_test_connection_finds_the_number_in_the_account(sms: Any, whatsapp: Any, api: TwilioApi) -> None:
    platform = platform_for(ChannelKind.TWILIO_SMS)
    assert platform is not None
    assert platform.test_connection is not None

    ok = platform.test_connection(sms)
    sandbox = platform.test_connection(whatsapp)

    assert ok.ok
    assert "+15017122661 is one of its numbers" in ok.message
    assert "My first Twilio account" in ok.message
    assert sandbox.ok
    assert "not one of its phone numbers" in sandbox.message


def test_test_connection_reports_a_number_of_another_account_and_bad_credentials(
    sms: Any, api: TwilioApi, owner: Any
) -> None:
    platform = platform_for(ChannelKind.TWILIO_SMS)
    assert platform is not None
    assert platform.test_connection is not None
    api.numbers = []

    missing = platform.test_connection(sms)
    api.auth_token = "rotated-token-0123456789"
    refused = platform.test_connection(sms)

    assert not missing.ok
    assert "is not one of its phone numbers" in missing.message
    assert not refused.ok
    assert "HTTP 401" in refused.message


def test_channel_page_shows_the_webhook_url_and_setup_but_no_secret(
    whatsapp: Any, sms: Any, published: Any, client_for: Any, team: Any, owner: Any
) -> None:
    client = client_for(team, owner)

    pages = [
        client.get(f"/chatbots/{published.pk}/channels/{channel.pk}/").content.decode() for channel in (whatsapp, sms)
    ]

    assert f"http://alpha.localhost/api/channels/{whatsapp.public_id}/twilio/" in pages[0]
    assert "WhatsApp senders" in pages[0]
    assert f"/api/channels/{sms.public_id}/twilio/" in pages[1]
    assert "A message comes in" in pages[1]
    for page in pages:
        assert TWILIO_TOKEN not in page


def test_webhook_acknowledgement_stays_within_its_queries(
    whatsapp: Any, team_client: Any, django_assert_max_num_queries: Any
) -> None:
    _post(team_client, whatsapp, _params(whatsapp, sid="SMWARM"))  # the participant and session exist now

    # channel with its bot and provider, lock, participant, redelivery check, open session, session link, insert
    # (+ search paths and savepoints of the test's transaction)
    with django_assert_max_num_queries(11):
        response = _post(team_client, whatsapp, _params(whatsapp, sid="SMNEXT"))

    assert response.status_code == 200


# ----------------------------------------------------------------------------------------------- real worker


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def live_server_url(django_db_setup: None, committed: None) -> Iterator[str]:
    from django.core.handlers.wsgi import WSGIHandler

    server = make_server("127.0.0.1", 0, WSGIHandler(), server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def live_whatsapp(live_server_url: str, fake_llm: Any) -> Iterator[Any]:
    """Team A's committed chatbot (published, on the fake model) with a Twilio WhatsApp channel; removed after."""
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
        llm = llm_provider(base_url=fake_llm.openai_base_url, name="Twilio live LLM")
        llm.custom_models.create(name="fake-model")
        bot = chatbot_create(name="Twilio live bot", created_by=None)
        version_create(chatbot=bot, actor=None)
        bot.refresh_from_db()
        provider = messaging_provider(type="twilio", name="Twilio live account")
        channel = services.channel_create(
            chatbot=bot,
            kind=ChannelKind.TWILIO_WHATSAPP,
            name="Live WhatsApp",
            provider=provider,
            config={"phone_number": NUMBER},
        )
    try:
        yield team, channel
    finally:
        with tenant_context(team):
            services.channel_delete(channel=channel)
            ChatSession.objects.filter(chatbot=bot).delete()
            Participant.objects.filter(platform="whatsapp", identifier=PHONE).delete()
            Chatbot.objects.filter(pk=bot.pk).update(published_version=None)
            bot.versions.all().delete()
            Chatbot.objects.filter(pk=bot.pk).delete()
            Pipeline.objects.filter(name__startswith=bot.name).delete()
            provider.delete()
            llm.delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()


@pytest.mark.worker
def test_real_worker_answers_a_signed_webhook_on_the_twilio_double_in_the_right_team(
    live_worker: Any, live_server_url: str, live_whatsapp: Any, api: TwilioApi
) -> None:
    from tenants.context import tenant_context

    team, channel = live_whatsapp
    params = _params(channel, sid="SMLIVE1", body="hello from the phone")
    path = _url(channel)
    headers = {"Host": "alpha.localhost", "X-Twilio-Signature": _sign(f"http://alpha.localhost{path}", params)}

    acks = [httpx.post(f"{live_server_url}{path}", data=params, headers=headers, timeout=30) for _ in range(2)]
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not api.sent:
        time.sleep(0.2)
    time.sleep(1.0)  # a second reply, if there were one, would arrive now

    assert [ack.status_code for ack in acks] == [200, 200]
    [sent] = api.sent
    assert sent["To"] == f"whatsapp:{PHONE}"
    assert sent["Body"] == "Echo: hello from the phone"
    with tenant_context(team):
        reply = ChatMessage.objects.get(reply_to__external_id="SMLIVE1")
        assert reply.session.channel_link.channel_id == channel.pk
        deadline = time.monotonic() + 30
        while Delivery.objects.get(message=reply).status != DeliveryStatus.SENT and time.monotonic() < deadline:
            time.sleep(0.2)
        assert Delivery.objects.get(message=reply).status == DeliveryStatus.SENT

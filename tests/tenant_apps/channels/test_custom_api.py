"""The custom API channel: signed inbound requests (tampered, stale, replayed, unsigned refused with nothing
stored), idempotent redelivery, replies on a callback URL signed the same way (verified here), or in the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tenant_apps.channels import services, signing
from tenant_apps.channels.enums import DeliveryStatus
from tenant_apps.channels.models import Delivery
from tenant_apps.conversations import turns
from tenant_apps.conversations.models import ChatMessage
from tests.fakes.http_server import LoopbackServer


def _signed(secret: str, payload: Any, *, at: float | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    headers = signing.signed_headers(secret, body, now=at)
    return body, {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}


def _post(client: Any, channel: Any, body: bytes, headers: dict[str, str], query: str = "") -> Any:
    return client.post(
        f"/api/channels/{channel.public_id}/messages/{query}", body, content_type="application/json", **headers
    )


@pytest.fixture
def secret(custom_api: Any) -> str:
    return custom_api.secrets.reveal()["signing_secret"]


@pytest.fixture
def caller(team: Any, client_for: Any) -> Any:
    return client_for(team)


@pytest.fixture
def callback() -> Iterator[LoopbackServer]:
    with LoopbackServer({"/hook": lambda req: (200, {}, b"ok")}) as server:
        yield server


def test_signed_message_is_stored_and_answered_on_the_callback(
    custom_api: Any,
    secret: str,
    caller: Any,
    owner: Any,
    callback: LoopbackServer,
    fake_llm: Any,
    eager_tasks: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    services.channel_update(
        channel=custom_api,
        name=custom_api.name,
        disabled_message=custom_api.disabled_message,
        config={"callback_url": callback.url("/hook")},
        user=owner,
    )
    body, headers = _signed(secret, {"participant_id": "user-42", "text": "hello", "message_id": "m-1"})

    response = _post(caller, custom_api, body, headers)
    with django_capture_on_commit_callbacks(execute=True):
        turns.turn_process(message_id=response.json()["message_id"])

    assert response.status_code == 202
    assert ChatMessage.objects.get(pk=response.json()["message_id"]).external_id == "m-1"
    [hook] = callback.received
    assert (
        signing.signature_problem(
            secret,
            timestamp=hook.headers["x-signature-timestamp"],
            signature=hook.headers["x-signature"],
            body=hook.body,
            window=300,
        )
        is None
    )
    payload = json.loads(hook.body)
    assert payload["text"] == "Echo: hello"
    assert payload["participant_id"] == "user-42"
    assert payload["reply_to"]["external_id"] == "m-1"
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert ChatMessage.objects.get(pk=payload["message_id"]).metadata["delivery"]["status"] == "sent"


@pytest.mark.parametrize(
    ("mangle", "code"),
    [
        pytest.param(lambda body, headers: (body + b" ", headers), "channel.bad_signature", id="tampered"),
        pytest.param(lambda body, headers: (body, {}), "channel.unsigned", id="unsigned"),
        pytest.param(
            lambda body, headers: (body, {**headers, "HTTP_X_SIGNATURE": "sha256=" + "0" * 64}),
            "channel.bad_signature",
            id="wrong-signature",
        ),
    ],
)
def test_bad_signatures_are_refused_with_nothing_stored(
    custom_api: Any, secret: str, caller: Any, mangle: Any, code: str
) -> None:
    body, headers = _signed(secret, {"participant_id": "u", "text": "hi"})
    body, headers = mangle(body, headers)

    response = _post(caller, custom_api, body, headers)

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert not ChatMessage.objects.exists()


def test_stale_signature_is_refused(custom_api: Any, secret: str, caller: Any) -> None:
    body, headers = _signed(secret, {"participant_id": "u", "text": "hi"}, at=time.time() - 301)

    response = _post(caller, custom_api, body, headers)

    assert (response.status_code, response.json()["code"]) == (401, "channel.stale_signature")
    assert not ChatMessage.objects.exists()


def test_replayed_request_without_message_id_is_refused(custom_api: Any, secret: str, caller: Any) -> None:
    body, headers = _signed(secret, {"participant_id": "u", "text": "hi", "n": time.time()})

    first = _post(caller, custom_api, body, headers)
    replay = _post(caller, custom_api, body, headers)

    assert first.status_code == 202
    assert (replay.status_code, replay.json()["code"]) == (409, "channel.replayed")
    assert ChatMessage.objects.filter(role="user").count() == 1


def test_redelivery_with_message_id_is_idempotent_one_reply(
    custom_api: Any, secret: str, caller: Any, fake_llm: Any
) -> None:
    payload = {"participant_id": "u", "text": "hi", "message_id": "dup-1"}
    first = _post(caller, custom_api, *_signed(secret, payload))
    turns.turn_process(message_id=first.json()["message_id"])
    again = _post(caller, custom_api, *_signed(secret, payload))
    turns.turn_process(message_id=again.json()["message_id"])

    assert first.status_code == 202
    assert again.json()["duplicate"] is True
    assert again.json()["message_id"] == first.json()["message_id"]
    assert ChatMessage.objects.filter(role="user").count() == 1
    assert ChatMessage.objects.filter(role="assistant").count() == 1


def test_unknown_channel_is_404(team: Any, caller: Any, secret: str) -> None:
    body, headers = _signed(secret, {"participant_id": "u", "text": "hi"})

    response = caller.post(
        "/api/channels/00000000-0000-4000-8000-000000000001/messages/",
        body,
        content_type="application/json",
        **headers,
    )

    assert response.status_code == 404
    assert not ChatMessage.objects.exists()


def test_secret_rotation_refuses_the_old_secret(custom_api: Any, secret: str, caller: Any, owner: Any) -> None:
    services.signing_secret_rotate(channel=custom_api, user=owner)

    response = _post(caller, custom_api, *_signed(secret, {"participant_id": "u", "text": "hi"}))

    assert response.status_code == 401


def test_disabled_channel_answers_with_its_message(custom_api: Any, secret: str, caller: Any, owner: Any) -> None:
    services.channel_set_enabled(channel=custom_api, enabled=False, user=owner)

    response = _post(caller, custom_api, *_signed(secret, {"participant_id": "u", "text": "hi"}))

    assert response.status_code == 403
    assert response.json()["message"] == custom_api.disabled_message
    assert not ChatMessage.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"text": "hi"}, id="no-participant"),
        pytest.param({"participant_id": ["x"], "text": "hi"}, id="participant-type"),
        pytest.param({"participant_id": "u", "text": ""}, id="empty"),
        pytest.param({"participant_id": "u", "text": "hi", "context": "x"}, id="context"),
        pytest.param([1, 2], id="not-object"),
    ],
)
def test_bad_bodies_are_400(custom_api: Any, secret: str, caller: Any, payload: Any) -> None:
    response = _post(caller, custom_api, *_signed(secret, payload))

    assert response.status_code == 400
    assert not ChatMessage.objects.exists()


def test_callback_failures_are_retried_then_visible(
    custom_api: Any, secret: str, caller: Any, owner: Any, fake_llm: Any
) -> None:
    """Each attempt as the task makes it: transient failures raise for Celery's retry with backoff (a new message on
    the queue, never a sleeping worker); the last attempt records the failure on the delivery and the message."""
    from tenant_apps.channels import outbound

    with LoopbackServer({"/hook": lambda req: (503, {}, b"down")}) as server:
        services.channel_update(
            channel=custom_api,
            name=custom_api.name,
            disabled_message="",
            config={"callback_url": server.url("/hook")},
            user=owner,
        )
        response = _post(caller, custom_api, *_signed(secret, {"participant_id": "u", "text": "hello"}))
        reply = turns.turn_process(message_id=response.json()["message_id"])
        for _ in range(2):
            with pytest.raises(outbound.TransientSendError):
                outbound.reply_send(message_id=reply.pk, final_attempt=False)
            assert Delivery.objects.get().status == DeliveryStatus.RETRYING
        outbound.reply_send(message_id=reply.pk, final_attempt=True)
        attempts = len(server.received)

    delivery = Delivery.objects.get()
    assert attempts == 3
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    assert ChatMessage.objects.get(pk=reply.pk).metadata["delivery"]["status"] == "failed"


def test_sent_reply_is_not_sent_twice(custom_api: Any, secret: str, caller: Any, owner: Any, fake_llm: Any) -> None:
    from tenant_apps.channels import outbound

    with LoopbackServer({"/hook": lambda req: (200, {}, b"ok")}) as server:
        services.channel_update(
            channel=custom_api, name="x", disabled_message="", config={"callback_url": server.url("/hook")}, user=owner
        )
        response = _post(caller, custom_api, *_signed(secret, {"participant_id": "u", "text": "hello"}))
        reply = turns.turn_process(message_id=response.json()["message_id"])
        outbound.reply_send(message_id=reply.pk, final_attempt=False)
        outbound.reply_send(message_id=reply.pk, final_attempt=False)

        assert len(server.received) == 1


def test_wait_returns_the_reply_synchronously(
    custom_api: Any, secret: str, caller: Any, fake_llm: Any, monkeypatch: Any
) -> None:
    """``?wait=`` holds the answer until the reply is committed (here the turn runs in the request, standing in
    for the worker)."""
    from tenant_apps.conversations import services as conversation_services

    monkeypatch.setattr(
        conversation_services, "turn_enqueue", lambda message: turns.turn_process(message_id=message.pk)
    )

    response = _post(caller, custom_api, *_signed(secret, {"participant_id": "u", "text": "hello"}), query="?wait=5")

    assert response.status_code == 200
    assert response.json()["status"] == "answered"
    assert response.json()["reply"]["text"] == "Echo: hello"

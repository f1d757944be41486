"""The widget chat API as the npm widget 0.6.0 and newer widgets call it (real-clients §1.3-§1.7)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core import signing

from tenant_apps.channels import services
from tenant_apps.channels.enums import ChannelKind, WidgetAuthLevel
from tenant_apps.conversations import services as conversation_services
from tenant_apps.conversations import turns
from tenant_apps.conversations.models import ChatMessage, ChatSession

ORIGIN = "https://example.com"


def _headers(channel: Any, origin: str | None = ORIGIN, **extra: str) -> dict[str, str]:
    headers = {"HTTP_X_OCS_WIDGET_VERSION": "0.6.0", **extra}
    if channel is not None and channel.embed_key:
        headers["HTTP_X_EMBED_KEY"] = channel.embed_key
    if origin:
        headers["HTTP_ORIGIN"] = origin
    return headers


def _start(client: Any, channel: Any, *, prefix: str = "/api/chat", **headers: Any) -> Any:
    body = {
        "chatbot_id": str(channel.chatbot.public_id),
        "session_data": {"source": "widget", "page_url": f"{ORIGIN}/page"},
        "participant_remote_id": "ocs:1700000000000_abcdefghi",
        "participant_name": "Visitor",
    }
    return client.post(
        f"{prefix}/start/", json.dumps(body), content_type="application/json", **{**_headers(channel), **headers}
    )


def _send(
    client: Any, channel: Any, session_id: str, text: str = "hello", headers: dict[str, str] | None = None, **body: Any
) -> Any:
    return client.post(
        f"/api/chat/{session_id}/message/",
        json.dumps({"message": text, **body}),
        content_type="application/json",
        **{**_headers(channel), **(headers or {})},
    )


@pytest.fixture
def visitor(team: Any, client_for: Any) -> Any:
    return client_for(team)


def test_widget_turn_start_send_task_poll_complete(widget: Any, visitor: Any, fake_llm: Any) -> None:
    started = _start(visitor, widget)
    session_id = started.json()["session_id"]
    sent = _send(visitor, widget, session_id)
    task_id = sent.json()["task_id"]
    processing = visitor.get(f"/api/chat/{session_id}/{task_id}/poll/", **_headers(widget))
    turns.turn_process(message_id=int(task_id))
    done = visitor.get(f"/api/chat/{session_id}/{task_id}/poll/", **_headers(widget))

    assert started.status_code == 201
    assert started.json()["session_token"] is None
    assert started.json()["chatbot"]["id"] == str(widget.chatbot.public_id)
    assert started["Access-Control-Allow-Origin"] == "*"
    assert sent.status_code == 202
    assert sent.json()["status"] == "processing"
    assert "/stream/turn/" in sent.json()["stream_url"]
    assert processing.json() == {"status": "processing"}
    assert done.json()["status"] == "complete"
    assert done.json()["message"]["role"] == "assistant"
    assert done.json()["message"]["content"] == "Echo: hello"
    assert done.json()["message"]["created_at"].endswith("Z")
    session = ChatSession.objects.get(external_id=session_id)
    assert session.platform == "widget"
    assert session.version == widget.chatbot.published_version
    assert session.participant.identifier == "ocs:1700000000000_abcdefghi"


def test_widget_api_also_served_under_v1(widget: Any, visitor: Any) -> None:
    assert _start(visitor, widget, prefix="/api/v1/chat").status_code == 201


def test_preflight_is_answered_without_key_or_rate_limit(widget: Any, visitor: Any, settings: Any) -> None:
    settings.CHAT_API_RATE_LIMIT = "0/60"

    response = visitor.options(
        "/api/chat/00000000-0000-4000-8000-000000000001/message/",
        HTTP_ORIGIN="https://elsewhere.test",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-ocs-widget-version,x-embed-key",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "x-embed-key" in response["Access-Control-Allow-Headers"]
    assert "x-session-token" in response["Access-Control-Allow-Headers"]


def test_cors_only_on_the_chat_api(member_client: Any) -> None:
    response = member_client.options("/chatbots/", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")

    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        pytest.param({"HTTP_X_EMBED_KEY": "wrong-key"}, 403, "embed_key_invalid", id="wrong-key"),
        pytest.param({"HTTP_ORIGIN": "https://evil.test"}, 403, "origin_not_allowed", id="origin"),
        pytest.param({"HTTP_ORIGIN": "https://example.org"}, 403, "origin_not_allowed", id="wildcard-not-apex"),
        pytest.param({"HTTP_X_EMBED_KEY": ""}, 401, "chat_access_denied", id="no-key"),
    ],
)
def test_start_refused(widget: Any, visitor: Any, headers: dict[str, str], status: int, code: str) -> None:
    response = _start(visitor, widget, **headers)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert not ChatSession.objects.exists()


def test_start_without_origin_uses_referer_and_needs_one(widget: Any, visitor: Any) -> None:
    base = {"HTTP_X_OCS_WIDGET_VERSION": "0.6.0", "HTTP_X_EMBED_KEY": widget.embed_key}
    body = json.dumps({"chatbot_id": str(widget.chatbot.public_id), "participant_remote_id": "p1"})

    by_referer = visitor.post(
        "/api/chat/start/", body, content_type="application/json", HTTP_REFERER="https://shop.example.org/x", **base
    )
    neither = visitor.post("/api/chat/start/", body, content_type="application/json", **base)

    assert by_referer.status_code == 201
    assert neither.status_code == 403


def test_rotated_key_refused_at_once(widget: Any, visitor: Any, owner: Any) -> None:
    old = widget.embed_key
    session_id = _start(visitor, widget).json()["session_id"]

    services.widget_key_rotate(channel=widget, user=owner)
    sent = visitor.post(
        f"/api/chat/{session_id}/message/",
        json.dumps({"message": "hi"}),
        content_type="application/json",
        HTTP_X_EMBED_KEY=old,
        HTTP_ORIGIN=ORIGIN,
    )

    assert sent.status_code == 403
    assert sent.json()["code"] == "embed_key_invalid"


def test_disabled_channel_answers_with_its_message(widget: Any, visitor: Any, owner: Any) -> None:
    services.channel_set_enabled(channel=widget, enabled=False, user=owner)

    response = _start(visitor, widget)

    assert response.status_code == 403
    assert response.json()["error"] == widget.disabled_message


def test_session_token_level(published: Any, visitor: Any, owner: Any, settings: Any) -> None:
    channel = services.channel_create(
        chatbot=published,
        kind=ChannelKind.WIDGET,
        name="Token widget",
        config={"allowed_domains": ["*"], "auth_level": WidgetAuthLevel.SESSION_TOKEN},
        user=owner,
    )
    started = _start(visitor, channel).json()
    session_id, token = started["session_id"], started["session_token"]
    other_token = signing.dumps({"sid": "00000000-0000-4000-8000-000000000009"}, salt="chat.session-token")

    without = _send(visitor, channel, session_id)
    forged = _send(visitor, channel, session_id, headers={"HTTP_X_SESSION_TOKEN": "nonsense"})
    other = _send(visitor, channel, session_id, headers={"HTTP_X_SESSION_TOKEN": other_token})
    ok = visitor.post(
        f"/api/chat/{session_id}/message/",
        json.dumps({"message": "hi"}),
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=token,
        HTTP_ORIGIN=ORIGIN,
    )
    settings.CHAT_SESSION_TOKEN_LIFETIME = -1
    expired = visitor.post(
        f"/api/chat/{session_id}/message/",
        json.dumps({"message": "hi"}),
        content_type="application/json",
        HTTP_X_SESSION_TOKEN=token,
    )

    assert token
    assert (without.status_code, without.json()["code"]) == (403, "session_token_required")
    assert (forged.status_code, forged.json()["code"]) == (403, "session_token_invalid")
    assert (other.status_code, other.json()["code"]) == (403, "session_token_invalid")
    assert ok.status_code == 202
    assert (expired.status_code, expired.json()["code"]) == (403, "session_expired")


def test_context_is_stored_on_the_session(widget: Any, visitor: Any) -> None:
    session_id = _start(visitor, widget).json()["session_id"]

    _send(visitor, widget, session_id, context={"page": "pricing", "plan": "pro"})

    assert ChatSession.objects.get(external_id=session_id).state["remote_context"] == {"page": "pricing", "plan": "pro"}


def test_task_of_another_session_is_404(widget: Any, visitor: Any) -> None:
    first = _start(visitor, widget).json()["session_id"]
    second = _start(visitor, widget).json()["session_id"]
    task_id = _send(visitor, widget, first).json()["task_id"]

    response = visitor.get(f"/api/chat/{second}/{task_id}/poll/", **_headers(widget))

    assert response.status_code == 404


def test_ended_session_refuses_send_and_upload(widget: Any, visitor: Any) -> None:
    session_id = _start(visitor, widget).json()["session_id"]
    conversation_services.session_end(session=ChatSession.objects.get(external_id=session_id))

    sent = _send(visitor, widget, session_id)
    uploaded = visitor.post(f"/api/chat/{session_id}/upload/", {"participant_remote_id": "p"}, **_headers(widget))
    polled = visitor.get(f"/api/chat/{session_id}/poll/", **_headers(widget))

    assert (sent.status_code, sent.json()["error"]) == (400, "Session has ended")
    assert uploaded.status_code == 400
    assert polled.json()["session_status"] == "ended"


def test_poll_race_never_shows_the_participants_message_twice(widget: Any, visitor: Any, fake_llm: Any) -> None:
    """0.6.0 polls without ``since`` right after ``/start/`` while its first ``/message/`` is on the way: whichever
    lands first, the poll never returns what the widget already shows (its own message, the task poll's reply)."""
    session_id = _start(visitor, widget).json()["session_id"]
    before = visitor.get(f"/api/chat/{session_id}/poll/", **_headers(widget)).json()
    task_id = _send(visitor, widget, session_id).json()["task_id"]
    after_send = visitor.get(f"/api/chat/{session_id}/poll/", **_headers(widget)).json()
    turns.turn_process(message_id=int(task_id))
    after_reply = visitor.get(f"/api/chat/{session_id}/poll/", **_headers(widget)).json()
    reply = visitor.get(f"/api/chat/{session_id}/{task_id}/poll/", **_headers(widget)).json()["message"]
    since_reply = visitor.get(
        f"/api/chat/{session_id}/poll/", {"since": reply["created_at"]}, **_headers(widget)
    ).json()

    assert before["messages"] == []
    assert after_send["messages"] == []
    assert after_reply["messages"] == []
    assert since_reply["messages"] == []
    assert ChatMessage.objects.filter(session__external_id=session_id, role="user").count() == 1  # still stored


def test_poll_returns_bot_messages_since_exclusive_ascending(widget: Any, visitor: Any, fake_llm: Any) -> None:
    """The session poll brings what the task poll does not: messages the bot sends on its own (events, schedules)
    and a reply that came after the widget's task poll gave up. The reply its task poll showed never comes twice,
    however late a poll that crossed it is answered."""
    from datetime import timedelta

    from tenant_apps.conversations.enums import MessageRole

    session_id = _start(visitor, widget).json()["session_id"]
    task_id = _send(visitor, widget, session_id).json()["task_id"]
    turns.turn_process(message_id=int(task_id))
    user_message = ChatMessage.objects.get(pk=int(task_id))
    since = user_message.created_at.isoformat().replace("+00:00", "Z")
    nudge = ChatMessage.objects.create(session=user_message.session, role=MessageRole.ASSISTANT, content="Still there?")

    polled = visitor.get(f"/api/chat/{session_id}/poll/", {"since": since}, **_headers(widget)).json()
    late_reply = ChatMessage.objects.get(reply_to=user_message)
    ChatMessage.objects.filter(pk=late_reply.pk).update(created_at=user_message.created_at + timedelta(seconds=121))
    ChatMessage.objects.filter(pk=nudge.pk).update(created_at=user_message.created_at + timedelta(seconds=122))
    after_timeout = visitor.get(f"/api/chat/{session_id}/poll/", {"since": since}, **_headers(widget)).json()
    bad = visitor.get(f"/api/chat/{session_id}/poll/", {"since": "yesterday"}, **_headers(widget))

    assert [m["content"] for m in polled["messages"]] == ["Still there?"]
    assert [m["content"] for m in after_timeout["messages"]] == ["Echo: hello", "Still there?"]
    assert polled["has_more"] is False
    assert polled["session_status"] == "active"
    assert bad.status_code == 400


def test_rate_limit_headers_and_429(widget: Any, visitor: Any, settings: Any, rate_limits_on: Any) -> None:
    settings.CHAT_API_START_RATE_LIMIT = "2/60"

    responses = [_start(visitor, widget) for _ in range(3)]

    assert [r.status_code for r in responses] == [201, 201, 429]
    assert responses[0]["X-RateLimit-Limit"] == "2"
    assert responses[0]["X-RateLimit-Remaining"] == "1"
    assert int(responses[2]["Retry-After"]) >= 1
    assert "Retry-After" in responses[2]["Access-Control-Expose-Headers"]


def test_old_widget_gets_deprecation_headers(widget: Any, visitor: Any) -> None:
    old = _start(visitor, widget, HTTP_X_OCS_WIDGET_VERSION="0.5.2")
    current = _start(visitor, widget)

    assert old["Deprecation"] == "true"
    assert "Sunset" in old
    assert "Deprecation" not in current


def test_upload_then_attach(widget: Any, visitor: Any, published: Any, owner: Any) -> None:
    from tenant_apps.chatbots.services import chatbot_update, version_create
    from tests.factories.conversations import upload

    chatbot_update(chatbot=published, actor=owner, file_uploads_enabled=True)
    version_create(chatbot=published, actor=owner, publish=True)
    session_id = _start(visitor, widget).json()["session_id"]

    uploaded = visitor.post(
        f"/api/chat/{session_id}/upload/",
        {"files": [upload("notes.txt", b"hello")], "participant_remote_id": "p"},
        **_headers(widget),
    )
    file_id = uploaded.json()["files"][0]["id"]
    sent = _send(visitor, widget, session_id, attachment_ids=[file_id])

    assert uploaded.status_code == 201
    assert uploaded.json()["files"][0]["name"] == "notes.txt"
    assert sent.status_code == 202
    assert ChatMessage.objects.get(pk=int(sent.json()["task_id"])).attachments[0]["name"] == "notes.txt"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[]", id="not-object"),
        pytest.param(json.dumps({"message": 5}).encode(), id="message-type"),
        pytest.param(json.dumps({"message": "x", "attachment_ids": ["a"]}).encode(), id="ids"),
        pytest.param(json.dumps({"message": "x", "context": [1]}).encode(), id="context"),
        pytest.param(json.dumps({"message": ""}).encode(), id="empty"),
    ],
)
def test_bad_message_bodies_are_400_and_store_nothing(widget: Any, visitor: Any, body: bytes) -> None:
    session_id = _start(visitor, widget).json()["session_id"]

    response = visitor.post(
        f"/api/chat/{session_id}/message/", body, content_type="application/json", **_headers(widget)
    )

    assert response.status_code == 400
    assert "error" in response.json()
    assert not ChatMessage.objects.filter(session__external_id=session_id).exists()


def test_unknown_session_is_404(widget: Any, visitor: Any) -> None:
    response = _send(visitor, widget, "00000000-0000-4000-8000-000000000001")

    assert response.status_code == 404


def test_seed_reply_comes_through_poll_and_turn_reply_through_task(
    widget: Any, visitor: Any, owner: Any, fake_llm: Any
) -> None:
    from tenant_apps.chatbots.services import chatbot_update, version_create

    chatbot_update(chatbot=widget.chatbot, actor=owner, seed_message="Hi! What can you help me with?")
    version_create(chatbot=widget.chatbot, actor=owner, publish=True)
    session_id = _start(visitor, widget).json()["session_id"]
    seed = ChatMessage.objects.get(session__external_id=session_id, hidden=True)
    turns.turn_process(message_id=seed.pk)
    task_id = _send(visitor, widget, session_id).json()["task_id"]
    polled = visitor.get(f"/api/chat/{session_id}/poll/", **_headers(widget)).json()
    turns.turn_process(message_id=int(task_id))
    done = visitor.get(f"/api/chat/{session_id}/{task_id}/poll/", **_headers(widget)).json()

    assert [m["content"] for m in polled["messages"]] == ["Echo: Hi! What can you help me with?"]
    assert done["status"] == "complete"
    assert done["message"]["content"] == "Echo: hello"

"""In-app chat for team members: send, the reply and its trace, versions, consent, new sessions, files."""

import re

import pytest

from tenant_apps.chatbots.services import chatbot_archive, chatbot_update, version_create
from tenant_apps.conversations import delivery, services, turns
from tenant_apps.conversations.enums import SessionStatus
from tenant_apps.conversations.models import ChatFile, ChatSession
from tenants.enums import Role
from tests.factories.conversations import start_chat, upload


def test_in_app_chat_sends_a_message_and_shows_the_reply_and_its_trace(owner_client, chatbot, fake_llm):
    chat_url = start_chat(owner_client, chatbot)
    page = owner_client.get(chat_url)
    assert page.status_code == 200
    assert b"Working copy" in page.content

    sent = owner_client.post(chat_url + "send/", {"message": "Hello **bot**"})
    message_id = int(re.search(rb'id="pending-(\d+)"', sent.content).group(1))
    turns.turn_process(message_id=message_id)  # the worker's job
    reply = owner_client.get(f"{chat_url}messages/{message_id}/reply/")

    assert b"Hello **bot**" in sent.content  # participant text is shown as typed, escaped
    assert b"Echo: Hello <strong>bot</strong>" in reply.content  # bot markdown rendered
    assert b'id="trace-panel" hx-swap-oob' in reply.content
    assert b"fake-model" in reply.content


def test_reply_poll_before_the_answer_returns_the_pending_bubble(owner_client, chatbot):
    chat_url = start_chat(owner_client, chatbot)
    sent = owner_client.post(chat_url + "send/", {"message": "hi"})
    message_id = int(re.search(rb'id="pending-(\d+)"', sent.content).group(1))

    response = owner_client.get(f"{chat_url}messages/{message_id}/reply/?wait=0")

    assert f'id="pending-{message_id}"'.encode() in response.content
    assert b"delay:1s" in response.content


def test_send_that_waits_answers_with_the_reply_and_its_trace_in_one_response(
    owner_client, chatbot, fake_llm, monkeypatch
):
    """The chat page's form asks the send to wait (``?wait=``): the turn is one request when the worker is quick."""

    def answer_at_once(message):  # the worker; its after-commit publish (held back by the test's transaction) by hand
        delivery.deliver(reply=turns.turn_process(message_id=message.pk))

    monkeypatch.setattr(services, "turn_enqueue", answer_at_once)
    chat_url = start_chat(owner_client, chatbot)
    assert f'hx-post="{chat_url}send/?wait=20&amp;stream=1"'.encode() in owner_client.get(chat_url).content

    sent = owner_client.post(chat_url + "send/?wait=20", {"message": "Hello **bot**"})

    assert b"Hello **bot**" in sent.content
    assert b"Echo: Hello <strong>bot</strong>" in sent.content
    assert b'id="trace-panel" hx-swap-oob' in sent.content
    assert b'id="pending-' not in sent.content


def test_send_that_waits_in_vain_answers_with_the_pending_bubble(owner_client, chatbot):
    chat_url = start_chat(owner_client, chatbot)

    sent = owner_client.post(chat_url + "send/?wait=0.2", {"message": "hi"})  # no worker runs here

    assert b'id="pending-' in sent.content
    assert b"delay:1s" not in sent.content  # the bubble polls at once


def test_chat_send_shows_service_errors_without_losing_the_page(owner_client, chatbot):
    chat_url = start_chat(owner_client, chatbot)

    response = owner_client.post(chat_url + "send/", {"message": "   "})

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#composer-state"
    assert b"Write a message first." in response.content


def test_chat_on_a_version_and_version_picker(owner_client, chatbot, owner):
    version = version_create(chatbot=chatbot, actor=owner)

    chat_url = start_chat(owner_client, chatbot, version=str(version.number))

    session = ChatSession.objects.get(external_id=chat_url.split("/")[2])
    assert session.version == version
    assert b"v1 (published)" in owner_client.get(chat_url).content


def test_markdown_from_the_bot_is_sanitised(owner_client, chatbot, fake_llm):
    fake_llm.reply("<script>alert(1)</script>[click](javascript:alert(2)) **ok**")
    chat_url = start_chat(owner_client, chatbot)
    sent = owner_client.post(chat_url + "send/", {"message": "hi"})
    message_id = int(re.search(rb'id="pending-(\d+)"', sent.content).group(1))
    turns.turn_process(message_id=message_id)

    reply = owner_client.get(f"{chat_url}messages/{message_id}/reply/").content

    assert b"<script>" not in reply
    assert b'href="javascript' not in reply
    assert b"<strong>ok</strong>" in reply


def test_new_session_ends_the_current_one(owner_client, chatbot):
    chat_url = start_chat(owner_client, chatbot)

    response = owner_client.post(chat_url + "new/")

    old = ChatSession.objects.get(external_id=chat_url.split("/")[2])
    assert old.status == "ended"
    assert response["Location"] != chat_url


def test_new_session_that_cannot_start_keeps_the_current_one(owner_client, chatbot, owner):
    """Ending the session and starting the next are one transaction: when the new one is refused (the chatbot was
    archived meanwhile) the current session stays open and the page says why."""
    chat_url = start_chat(owner_client, chatbot)
    chatbot_archive(chatbot=chatbot, actor=owner)

    response = owner_client.post(chat_url + "new/", follow=True)

    assert response.status_code == 200
    assert b"This chatbot is archived." in response.content
    assert ChatSession.objects.get(external_id=chat_url.split("/")[2]).status == SessionStatus.ACTIVE
    assert ChatSession.objects.filter(chatbot=chatbot).count() == 1


def test_consent_page_and_button(owner_client, chatbot, owner):
    from tenant_apps.chatbots.models import ConsentForm

    form = ConsentForm.objects.create(name="Study", consent_text="We **record** chats.")
    chatbot_update(chatbot=chatbot, actor=owner, consent_form=form)
    chat_url = start_chat(owner_client, chatbot)

    page = owner_client.get(chat_url).content
    owner_client.post(chat_url + "consent/")

    assert b"We <strong>record</strong> chats." in page
    assert b"I agree" in page
    assert ChatSession.objects.get(external_id=chat_url.split("/")[2]).status == "active"


def test_viewer_cannot_chat_but_can_read_sessions(team, chatbot, make_member, client_for, owner_client):
    chat_url = start_chat(owner_client, chatbot)
    viewer = client_for(team, make_member(team, Role.VIEWER))

    assert viewer.get(chat_url).status_code == 404
    assert viewer.get(f"/chatbots/{chatbot.pk}/chat/").status_code == 404
    assert viewer.get("/sessions/").status_code == 200
    assert viewer.get(f"/sessions/{chat_url.split('/')[2]}/").status_code == 200


def test_files_are_refused_unless_the_chatbot_allows_uploads(owner_client, chatbot):
    chat_url = start_chat(owner_client, chatbot)

    response = owner_client.post(chat_url + "send/", {"message": "see file", "files": [upload("a.txt")]})

    assert b"This chatbot does not accept files." in response.content
    assert not ChatSession.objects.get(external_id=chat_url.split("/")[2]).messages.exists()


def test_uploaded_file_is_attached_stored_and_downloadable(owner_client, chatbot, owner, fake_llm):
    chatbot_update(chatbot=chatbot, actor=owner, file_uploads_enabled=True)
    chat_url = start_chat(owner_client, chatbot)
    page = owner_client.get(chat_url).content

    sent = owner_client.post(chat_url + "send/", {"message": "", "files": [upload("notes.txt", b"my notes")]})

    assert b'data-testid="attach"' in page
    session = ChatSession.objects.get(external_id=chat_url.split("/")[2])
    message = session.messages.get()
    [attachment] = message.attachments
    assert attachment["name"] == "notes.txt"
    assert attachment["size"] == 8
    assert b"notes.txt" in sent.content
    download = owner_client.get(f"/sessions/{session.external_id}/files/{attachment['id']}/")
    assert b"".join(download.streaming_content) == b"my notes"
    assert download["Content-Type"] == "application/octet-stream"
    assert "attachment" in download["Content-Disposition"]


@pytest.mark.parametrize(
    ("name", "size", "code_text"),
    [
        pytest.param("run.exe", 10, b"not accepted", id="type"),
        pytest.param("page.html", 10, b"not accepted", id="html"),
        pytest.param("big.txt", 2 * 1024 * 1024, b"larger than", id="too-large"),
    ],
)
def test_uploads_are_validated(owner_client, chatbot, owner, settings, name, size, code_text):
    settings.CHAT_UPLOAD_MAX_BYTES = 1024 * 1024
    chatbot_update(chatbot=chatbot, actor=owner, file_uploads_enabled=True)
    chat_url = start_chat(owner_client, chatbot)

    response = owner_client.post(chat_url + "send/", {"message": "x", "files": [upload(name, b"x" * size)]})

    assert code_text in response.content
    assert not ChatSession.objects.get(external_id=chat_url.split("/")[2]).files.exists()


@pytest.mark.parametrize(
    "refusal",
    [
        pytest.param({"end": True, "message": "see file"}, id="session-ended"),
        pytest.param({"end": False, "message": "x" * 20_001}, id="message-too-long"),
    ],
)
def test_a_refused_message_leaves_no_file_behind(owner_client, chatbot, owner, settings, tmp_path, refusal):
    """The files of a message that is refused are not stored: no row, nothing on disk (they used to be stored in a
    transaction of their own before the message was checked)."""
    settings.MEDIA_ROOT = str(tmp_path)
    chatbot_update(chatbot=chatbot, actor=owner, file_uploads_enabled=True)
    chat_url = start_chat(owner_client, chatbot)
    session = ChatSession.objects.get(external_id=chat_url.split("/")[2])
    if refusal["end"]:
        services.session_end(session=session)

    response = owner_client.post(chat_url + "send/", {"message": refusal["message"], "files": [upload("a.txt")]})

    assert b'id="pending-' not in response.content
    assert not ChatFile.objects.filter(session=session).exists()
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]

import re

import pytest
from django.core.files.base import ContentFile

from tenant_apps.chatbots.services import chatbot_archive, chatbot_update, version_create
from tenant_apps.conversations import delivery, exports, services
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import ChatFile, ChatSession, SessionExport
from tenants.context import tenant_context
from tenants.enums import Role


@pytest.fixture
def owner_client(team, owner, client_for):
    return client_for(team, owner)


def _start_chat(client, chatbot, **query):
    response = client.get(f"/chatbots/{chatbot.pk}/chat/", query)
    assert response.status_code == 302
    return response["Location"]


def test_in_app_chat_sends_a_message_and_shows_the_reply_and_its_trace(owner_client, chatbot, fake_llm):
    chat_url = _start_chat(owner_client, chatbot)
    page = owner_client.get(chat_url)
    assert page.status_code == 200
    assert b"Working copy" in page.content

    sent = owner_client.post(chat_url + "send/", {"message": "Hello **bot**"})
    message_id = int(re.search(rb'id="pending-(\d+)"', sent.content).group(1))
    services.turn_process(message_id=message_id)  # the worker's job
    reply = owner_client.get(f"{chat_url}messages/{message_id}/reply/")

    assert b"Hello **bot**" in sent.content  # participant text is shown as typed, escaped
    assert b"Echo: Hello <strong>bot</strong>" in reply.content  # bot markdown rendered
    assert b'id="trace-panel" hx-swap-oob' in reply.content
    assert b"fake-model" in reply.content


def test_reply_poll_before_the_answer_returns_the_pending_bubble(owner_client, chatbot):
    chat_url = _start_chat(owner_client, chatbot)
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
        delivery.deliver(reply=services.turn_process(message_id=message.pk))

    monkeypatch.setattr(services, "_enqueue_turn", answer_at_once)
    chat_url = _start_chat(owner_client, chatbot)
    assert f'hx-post="{chat_url}send/?wait=20"'.encode() in owner_client.get(chat_url).content

    sent = owner_client.post(chat_url + "send/?wait=20", {"message": "Hello **bot**"})

    assert b"Hello **bot**" in sent.content
    assert b"Echo: Hello <strong>bot</strong>" in sent.content
    assert b'id="trace-panel" hx-swap-oob' in sent.content
    assert b'id="pending-' not in sent.content


def test_send_that_waits_in_vain_answers_with_the_pending_bubble(owner_client, chatbot):
    chat_url = _start_chat(owner_client, chatbot)

    sent = owner_client.post(chat_url + "send/?wait=0.2", {"message": "hi"})  # no worker runs here

    assert b'id="pending-' in sent.content
    assert b"delay:1s" not in sent.content  # the bubble polls at once


def test_chat_send_shows_service_errors_without_losing_the_page(owner_client, chatbot):
    chat_url = _start_chat(owner_client, chatbot)

    response = owner_client.post(chat_url + "send/", {"message": "   "})

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#composer-state"
    assert b"Write a message first." in response.content


def test_chat_on_a_version_and_version_picker(owner_client, chatbot, owner):
    version = version_create(chatbot=chatbot, actor=owner)

    chat_url = _start_chat(owner_client, chatbot, version=str(version.number))

    session = ChatSession.objects.get(external_id=chat_url.split("/")[2])
    assert session.version == version
    assert b"v1 (published)" in owner_client.get(chat_url).content


def test_markdown_from_the_bot_is_sanitised(owner_client, chatbot, fake_llm):
    fake_llm.reply("<script>alert(1)</script>[click](javascript:alert(2)) **ok**")
    chat_url = _start_chat(owner_client, chatbot)
    sent = owner_client.post(chat_url + "send/", {"message": "hi"})
    message_id = int(re.search(rb'id="pending-(\d+)"', sent.content).group(1))
    services.turn_process(message_id=message_id)

    reply = owner_client.get(f"{chat_url}messages/{message_id}/reply/").content

    assert b"<script>" not in reply
    assert b'href="javascript' not in reply
    assert b"<strong>ok</strong>" in reply


def test_new_session_ends_the_current_one(owner_client, chatbot):
    chat_url = _start_chat(owner_client, chatbot)

    response = owner_client.post(chat_url + "new/")

    old = ChatSession.objects.get(external_id=chat_url.split("/")[2])
    assert old.status == "ended"
    assert response["Location"] != chat_url


def test_consent_page_and_button(owner_client, chatbot, owner):
    from tenant_apps.chatbots.models import ConsentForm

    form = ConsentForm.objects.create(name="Study", consent_text="We **record** chats.")
    chatbot_update(chatbot=chatbot, actor=owner, consent_form=form)
    chat_url = _start_chat(owner_client, chatbot)

    page = owner_client.get(chat_url).content
    owner_client.post(chat_url + "consent/")

    assert b"We <strong>record</strong> chats." in page
    assert b"I agree" in page
    assert ChatSession.objects.get(external_id=chat_url.split("/")[2]).status == "active"


def test_viewer_cannot_chat_but_can_read_sessions(team, chatbot, make_member, client_for, owner_client):
    chat_url = _start_chat(owner_client, chatbot)
    viewer = client_for(team, make_member(team, Role.VIEWER))

    assert viewer.get(chat_url).status_code == 404
    assert viewer.get(f"/chatbots/{chatbot.pk}/chat/").status_code == 404
    assert viewer.get("/sessions/").status_code == 200
    assert viewer.get(f"/sessions/{chat_url.split('/')[2]}/").status_code == 200


# --------------------------------------------------------------------------------------------- public link


@pytest.fixture
def public_bot(chatbot, owner):
    chatbot_update(chatbot=chatbot, actor=owner, is_public=True)
    version_create(chatbot=chatbot, actor=owner)
    chatbot.refresh_from_db()
    return chatbot


def test_public_link_lets_anyone_chat_with_the_published_version(team, public_bot, client_for, fake_llm):
    visitor = client_for(team)

    first = visitor.get(f"/c/{public_bot.public_id}/")
    page = visitor.get(f"/c/{public_bot.public_id}/")
    session = ChatSession.objects.get(chatbot=public_bot, platform=Platform.PUBLIC_LINK)
    sent = visitor.post(f"/c/{public_bot.public_id}/s/{session.external_id}/send/", {"message": "hello"})
    message_id = int(re.search(rb'id="pending-(\d+)"', sent.content).group(1))
    services.turn_process(message_id=message_id)
    reply = visitor.get(f"/c/{public_bot.public_id}/s/{session.external_id}/messages/{message_id}/reply/")

    assert first.status_code == 302
    assert page.status_code == 200
    assert session.version == public_bot.published_version
    assert session.participant.identifier.startswith("anon:")
    assert b"Echo: hello" in reply.content
    assert b"trace-panel" not in reply.content  # no debug information for the public


def test_public_link_is_404_when_not_public_or_unpublished(team, chatbot, owner, client_for):
    visitor = client_for(team)
    assert visitor.get(f"/c/{chatbot.public_id}/").status_code == 404

    chatbot_update(chatbot=chatbot, actor=owner, is_public=True)
    assert visitor.get(f"/c/{chatbot.public_id}/").status_code == 404  # no published version yet

    version_create(chatbot=chatbot, actor=owner)
    assert visitor.get(f"/c/{chatbot.public_id}/", follow=True).status_code == 200
    chatbot_archive(chatbot=chatbot, actor=owner)
    assert visitor.get(f"/c/{chatbot.public_id}/").status_code == 404


def test_public_session_of_another_visitor_is_404(team, public_bot, client_for):
    alice, mallory = client_for(team), client_for(team)
    alice.get(f"/c/{public_bot.public_id}/")
    session = ChatSession.objects.get(chatbot=public_bot, platform=Platform.PUBLIC_LINK)
    mallory.get(f"/c/{public_bot.public_id}/")

    response = mallory.post(f"/c/{public_bot.public_id}/s/{session.external_id}/send/", {"message": "hijack"})

    assert response.status_code == 404
    assert not session.messages.exists()


def test_public_link_of_another_teams_chatbot_is_404(team, public_bot, team_b, client_for):
    assert client_for(team_b).get(f"/c/{public_bot.public_id}/").status_code == 404


# ----------------------------------------------------------------------------------------------- sessions


def test_session_list_filters(owner_client, chatbot, owner):
    version = version_create(chatbot=chatbot, actor=owner)
    participant = services.participant_for_member(user=owner)
    on_version = services.session_start(
        chatbot=chatbot, version=version, participant=participant, platform=Platform.WEB
    )
    working = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    services.session_end(session=working)
    tagged = services.message_receive(session=on_version, content="tag me")
    services.message_tag_add(message=tagged, name="important", user=owner)

    def listed(**query):
        content = owner_client.get("/sessions/", query).content.decode()
        return {s.external_id for s in (on_version, working) if str(s.external_id) in content}

    assert listed() == {on_version.external_id, working.external_id}
    assert listed(version="1") == {on_version.external_id}
    assert listed(version="working") == {working.external_id}
    assert listed(status="ended") == {working.external_id}
    assert listed(tag="important") == {on_version.external_id}
    assert listed(participant=owner.email[:5]) == {on_version.external_id, working.external_id}
    assert listed(participant="nobody-like-this") == set()
    assert listed(**{"from": "2000-01-01", "to": "2000-01-02"}) == set()


def test_transcript_tag_comment_and_end(owner_client, chatbot, owner, fake_llm):
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    message = services.message_receive(session=session, content="question")
    reply = services.turn_process(message_id=message.pk)
    base = f"/sessions/{session.external_id}/"

    page = owner_client.get(base)
    tagged = owner_client.post(f"{base}messages/{reply.pk}/tags/", {"tag": "good answer"})
    commented = owner_client.post(f"{base}messages/{reply.pk}/comments/", {"text": "Nice"})
    ended = owner_client.post(f"{base}end/")

    assert b"Echo: question" in page.content
    assert f"/traces/{reply.reply_to.trace.pk}/".encode() in page.content
    assert b"good answer" in tagged.content
    assert b"Nice" in commented.content
    assert ended.status_code == 302
    session.refresh_from_db()
    assert session.status == "ended"


def test_trace_detail_page(owner_client, chatbot, owner, fake_llm):
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    reply = services.turn_process(message_id=services.message_receive(session=session, content="hi").pk)

    page = owner_client.get(f"/traces/{reply.reply_to.trace.pk}/")

    assert page.status_code == 200
    assert b"llm" in page.content
    assert b"Success" in page.content


def test_export_creates_a_csv_with_progress_and_download(owner_client, chatbot, owner, fake_llm, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    services.turn_process(message_id=services.message_receive(session=session, content="hi, export me").pk)

    created = owner_client.post(f"/sessions/export/?chatbot={chatbot.pk}")
    export = SessionExport.objects.get()
    progress = owner_client.get(created["Location"])
    exports.export_run(export_id=export.pk)  # the worker's job
    done = owner_client.get(created["Location"], HTTP_HX_REQUEST="true")
    download = owner_client.get(f"/sessions/exports/{export.pk}/download/")

    assert b"progress" in progress.content
    assert b"Download CSV" in done.content
    body = b"".join(download.streaming_content).decode()
    assert body.splitlines()[0].startswith("session_id,chatbot,version")
    assert "hi, export me" in body
    assert "Echo: hi, export me" in body
    assert export.filters["chatbot_id"] == chatbot.pk


# ------------------------------------------------------------------------------------ other team's objects


def test_other_teams_session_trace_and_export_answer_404(team_b, make_member, client_for, chatbot, owner, fake_llm):
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    reply = services.turn_process(message_id=services.message_receive(session=session, content="secret").pk)
    export = SessionExport.objects.create(status="done", file_name="x.csv")
    chat_file = ChatFile(session=session, name="a.txt", content_type="text/plain", size=6)
    chat_file.file.save("a.txt", ContentFile(b"secret"))
    ids = {"session": session.external_id, "message": reply.pk, "trace": reply.reply_to.trace.pk, "export": export.pk}
    with tenant_context(team_b):
        outsider_team_member = make_member(team_b, Role.OWNER)
        client = client_for(team_b, outsider_team_member)
        paths = [
            f"/sessions/{ids['session']}/",
            f"/chat/{ids['session']}/",
            f"/chat/{ids['session']}/messages/{reply.reply_to_id}/reply/",
            f"/sessions/{ids['session']}/files/{chat_file.pk}/",
            f"/traces/{ids['trace']}/",
            f"/sessions/exports/{ids['export']}/",
            f"/sessions/exports/{ids['export']}/download/",
            f"/chatbots/{chatbot.pk}/",
            f"/chatbots/{chatbot.pk}/chat/",
            f"/chatbots/{chatbot.pk}/versions/",
        ]
        for path in paths:
            assert client.get(path).status_code == 404, path
        assert (
            client.post(f"/sessions/{ids['session']}/messages/{ids['message']}/tags/", {"tag": "x"}).status_code == 404
        )
        assert client.post(f"/chat/{ids['session']}/send/", {"message": "x"}).status_code == 404


# ------------------------------------------------------------------------------------------------- uploads


def _upload(name, content=b"hello", content_type="text/plain"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type=content_type)


def test_files_are_refused_unless_the_chatbot_allows_uploads(owner_client, chatbot):
    chat_url = _start_chat(owner_client, chatbot)

    response = owner_client.post(chat_url + "send/", {"message": "see file", "files": [_upload("a.txt")]})

    assert b"This chatbot does not accept files." in response.content
    assert not ChatSession.objects.get(external_id=chat_url.split("/")[2]).messages.exists()


def test_uploaded_file_is_attached_stored_and_downloadable(owner_client, chatbot, owner, fake_llm):
    chatbot_update(chatbot=chatbot, actor=owner, file_uploads_enabled=True)
    chat_url = _start_chat(owner_client, chatbot)
    page = owner_client.get(chat_url).content

    sent = owner_client.post(chat_url + "send/", {"message": "", "files": [_upload("notes.txt", b"my notes")]})

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
    chat_url = _start_chat(owner_client, chatbot)

    response = owner_client.post(chat_url + "send/", {"message": "x", "files": [_upload(name, b"x" * size)]})

    assert code_text in response.content
    assert not ChatSession.objects.get(external_id=chat_url.split("/")[2]).files.exists()


def test_public_visitor_downloads_only_their_own_files(team, public_bot, owner, client_for):
    chatbot_update(chatbot=public_bot, actor=owner, file_uploads_enabled=True)
    version_create(chatbot=public_bot, actor=owner, publish=True)
    alice, mallory = client_for(team), client_for(team)
    alice.get(f"/c/{public_bot.public_id}/")
    session = ChatSession.objects.get(chatbot=public_bot, platform=Platform.PUBLIC_LINK)
    base = f"/c/{public_bot.public_id}/s/{session.external_id}/"
    alice.post(base + "send/", {"message": "mine", "files": [_upload("mine.txt", b"private")]})
    file_id = session.files.get().pk
    mallory.get(f"/c/{public_bot.public_id}/")

    assert alice.get(f"{base}files/{file_id}/").status_code == 200
    assert mallory.get(f"{base}files/{file_id}/").status_code == 404

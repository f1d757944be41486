"""The one way in for a message: stored (with its files) before anything else, idempotent, refused whole."""

import pytest
from django.db import DatabaseError

from shared_apps.core.exceptions import InvalidStateError
from tenant_apps.chatbots.models import ConsentForm
from tenant_apps.chatbots.services import chatbot_update
from tenant_apps.conversations import ingress, services, turn_sql, uploads
from tenant_apps.conversations.enums import MessageRole, Platform, SessionStatus, TurnStatus
from tenant_apps.conversations.models import ChatFile, ChatSession
from tests.factories.conversations import say


def test_message_receive_persists_and_enqueues_after_commit(
    member_session, django_capture_on_commit_callbacks, monkeypatch
):
    from tenant_apps.conversations import tasks

    enqueued = []
    monkeypatch.setattr(tasks.turn_process_task, "delay", lambda **kw: enqueued.append(kw))

    with django_capture_on_commit_callbacks(execute=True):
        message = say(member_session, "  Hello there  ")

    assert message.content == "Hello there"
    assert message.turn_status == TurnStatus.PENDING
    assert enqueued == [{"message_id": message.pk}]


def test_redelivered_platform_message_is_stored_once(member_session):
    first = say(member_session, "hi", external_id="platform-1")

    again = say(member_session, "hi", external_id="platform-1")

    assert again.pk == first.pk
    assert member_session.messages.filter(external_id="platform-1").count() == 1


@pytest.mark.parametrize(
    ("content", "code"),
    [pytest.param("   ", "message.empty", id="empty"), pytest.param("x" * 20_001, "message.too_long", id="too-long")],
)
def test_message_receive_rejects_bad_input(member_session, content, code):
    with pytest.raises(InvalidStateError) as excinfo:
        say(member_session, content)

    assert excinfo.value.code == code
    assert not member_session.messages.exists()


def test_consent_blocks_the_pipeline_until_given(chatbot, owner, fake_llm):
    form = ConsentForm.objects.create(name="Study", consent_text="We record this chat.", confirmation_text="yes")
    chatbot_update(chatbot=chatbot, actor=owner, consent_form=form, seed_message="Hello!")
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    assert session.status == SessionStatus.PENDING_CONSENT
    assert not session.messages.exists()

    message = say(session, "What is this?")
    assert message.turn_status == TurnStatus.NONE
    prompt = message.reply
    assert prompt.role == MessageRole.SYSTEM
    assert "We record this chat." in prompt.content
    assert "yes" in prompt.content

    say(session, "YES")
    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE
    assert session.consent_given_at is not None
    assert session.messages.filter(hidden=True, content="Hello!", turn_status=TurnStatus.PENDING).exists()
    assert fake_llm.requests == []


# ------------------------------------------------------------------------------------------------------ files


@pytest.fixture
def uploads_on(chatbot, owner, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    chatbot_update(chatbot=chatbot, actor=owner, file_uploads_enabled=True)
    return tmp_path


def _file(name="notes.txt", content=b"my notes"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="text/plain")


def _files_on_disk(root):
    return [path for path in root.rglob("*") if path.is_file()]


def test_new_files_are_stored_and_attached_with_the_message(member_session, uploads_on):
    message = say(member_session, "see the file", files=[_file()])

    [chat_file] = ChatFile.objects.filter(session=member_session)
    assert chat_file.message_id == message.pk
    assert message.attachments == [{"id": chat_file.pk, "name": "notes.txt", "content_type": "text/plain", "size": 8}]
    assert chat_file.file.read() == b"my notes"


def test_a_message_that_fails_to_store_removes_the_files_it_wrote(member_session, uploads_on, monkeypatch):
    """Whatever fails after the files are written (here the insert of the message), the rollback takes the files
    on disk with it."""

    def broken_insert(message):
        raise DatabaseError("the insert failed")

    monkeypatch.setattr(turn_sql, "message_insert", broken_insert)

    with pytest.raises(DatabaseError):
        say(member_session, "see the file", files=[_file(), _file("more.txt")])

    assert not ChatFile.objects.filter(session=member_session).exists()
    assert _files_on_disk(uploads_on) == []


def test_files_uploaded_first_are_attached_by_the_message_that_names_them(member_session, uploads_on):
    """The widget uploads first (``files_upload``), then sends the message with ``attachment_ids``."""
    first, second = uploads.files_upload(session=member_session, files=[_file("a.txt"), _file("b.txt")])
    assert first.message_id is None

    message = say(member_session, "", attachment_ids=[second.pk, first.pk])

    assert [entry["name"] for entry in message.attachments] == ["b.txt", "a.txt"]
    assert set(ChatFile.objects.filter(message=message)) == {first, second}


@pytest.mark.parametrize("whose", ["another-session", "already-sent", "no-such-file"])
def test_attachment_ids_name_only_this_sessions_unsent_files(member_session, chatbot, owner, uploads_on, whose):
    other = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    if whose == "another-session":
        file_id = uploads.files_upload(session=other, files=[_file()])[0].pk
    elif whose == "already-sent":
        file_id = say(member_session, "first", files=[_file()]).attachments[0]["id"]
    else:
        file_id = 10**9

    with pytest.raises(InvalidStateError) as excinfo:
        say(member_session, "second", attachment_ids=[file_id])

    assert excinfo.value.code == "upload.not_found"
    assert not member_session.messages.filter(content="second").exists()


def test_files_count_with_the_uploaded_ones(member_session, uploads_on, settings):
    settings.CHAT_UPLOAD_MAX_FILES = 2
    uploaded = uploads.files_upload(session=member_session, files=[_file("a.txt"), _file("b.txt")])

    with pytest.raises(InvalidStateError) as excinfo:
        say(member_session, "three", files=[_file("c.txt")], attachment_ids=[f.pk for f in uploaded])

    assert excinfo.value.code == "upload.too_many"
    assert ChatFile.objects.filter(session=member_session).count() == 2


# ---------------------------------------------------------------------------------------------------- context


def test_context_is_stored_on_the_session_state(member_session):
    member_session.state = {"step": 2}
    member_session.save(update_fields=["state"])

    say(member_session, "hi", context={"page": "/pricing", "plan": "pro"})

    member_session.refresh_from_db()
    assert member_session.state == {"step": 2, "remote_context": {"page": "/pricing", "plan": "pro"}}


@pytest.mark.parametrize(
    ("context", "code"),
    [
        pytest.param(["not", "an", "object"], "message.context_invalid", id="not-an-object"),
        pytest.param({"blob": "x" * 20_000}, "message.context_too_large", id="too-large"),
    ],
)
def test_bad_context_is_refused_and_nothing_is_stored(member_session, context, code):
    with pytest.raises(InvalidStateError) as excinfo:
        say(member_session, "hi", context=context)

    assert excinfo.value.code == code
    assert not member_session.messages.exists()


# ------------------------------------------------------------------------------- platforms: resolve or start


def _from_telegram(chatbot, text, message_id):
    return ingress.message_receive_for(
        chatbot=chatbot,
        participant=ingress.ParticipantRef(platform=Platform.TELEGRAM, identifier="tg-4242", name="Ada"),
        platform=Platform.TELEGRAM,
        inbound=ingress.Inbound(text=text, external_id=message_id),
        version=None,
    )


def test_a_platform_participant_gets_a_session_that_later_messages_resume(chatbot):
    first = _from_telegram(chatbot, "hello", "m-1")
    second = _from_telegram(chatbot, "again", "m-2")

    assert second.session == first.session
    assert first.session.participant.identifier == "tg-4242"
    assert first.session.participant.name == "Ada"
    assert (first.created, second.created) == (True, True)


def test_a_redelivery_is_the_first_message_and_starts_no_second_turn(
    chatbot, django_capture_on_commit_callbacks, monkeypatch
):
    from tenant_apps.conversations import tasks

    enqueued = []
    monkeypatch.setattr(tasks.turn_process_task, "delay", lambda **kw: enqueued.append(kw["message_id"]))
    with django_capture_on_commit_callbacks(execute=True):
        first = _from_telegram(chatbot, "hello", "m-1")
        again = _from_telegram(chatbot, "hello", "m-1")

    assert (again.message, again.created) == (first.message, False)
    assert enqueued == [first.message.pk]


def test_a_redelivery_after_its_session_ended_is_still_the_first_message(chatbot):
    first = _from_telegram(chatbot, "bye", "m-9")
    services.session_end(session=first.session)  # e.g. the turn ended it

    again = _from_telegram(chatbot, "bye", "m-9")

    assert (again.message, again.created) == (first.message, False)
    assert ChatSession.objects.filter(chatbot=chatbot).count() == 1


def test_session_open_resumes_the_open_session_or_starts_one(chatbot, owner):
    participant = ingress.participant_resolve(ingress.ParticipantRef(platform=Platform.PUBLIC_LINK, identifier="v1"))

    started, was_started = ingress.session_open(
        chatbot=chatbot, participant=participant, platform=Platform.PUBLIC_LINK, version=None
    )
    resumed, was_resumed_started = ingress.session_open(
        chatbot=chatbot, participant=participant, platform=Platform.PUBLIC_LINK, version=None
    )
    fresh, fresh_started = ingress.session_open(
        chatbot=chatbot, participant=participant, platform=Platform.PUBLIC_LINK, version=None, resume=False
    )

    assert (was_started, was_resumed_started, fresh_started) == (True, False, True)
    assert resumed == started
    assert fresh != started

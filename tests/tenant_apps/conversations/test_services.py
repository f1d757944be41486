"""Sessions (start, seed, allowlist, restart) and review (tags, comments)."""

import pytest

from shared_apps.core.exceptions import InvalidStateError, PermissionDeniedError
from tenant_apps.chatbots.services import chatbot_update, version_create
from tenant_apps.conversations import services, turns
from tenant_apps.conversations.enums import Platform, TurnStatus
from tenant_apps.conversations.models import ChatMessage
from tests.factories.conversations import say


def test_seed_message_is_sent_at_start_and_its_answer_opens_the_chat(chatbot, owner, fake_llm):
    chatbot_update(chatbot=chatbot, actor=owner, seed_message="Introduce yourself.")
    session = services.session_start(
        chatbot=chatbot, version=None, participant=services.participant_for_member(user=owner), platform=Platform.WEB
    )
    seed = ChatMessage.objects.get(session=session)
    assert seed.hidden
    assert seed.turn_status == TurnStatus.PENDING

    reply = turns.turn_process(message_id=seed.pk)

    assert reply.content == "Echo: Introduce yourself."
    visible = [m.content for m in session.messages.filter(hidden=False)]
    assert visible == ["Echo: Introduce yourself."]


def test_participant_allowlist_refuses_unknown_participants(chatbot, owner):
    chatbot_update(chatbot=chatbot, actor=owner, participant_allowlist="ann@example.com")
    version = version_create(chatbot=chatbot, actor=owner)
    stranger = services.participant_get_or_create(platform=Platform.PUBLIC_LINK, identifier="bob@example.com")
    allowed = services.participant_get_or_create(platform=Platform.PUBLIC_LINK, identifier="Ann@example.com")

    with pytest.raises(PermissionDeniedError) as excinfo:
        services.session_start(chatbot=chatbot, version=version, participant=stranger, platform=Platform.PUBLIC_LINK)
    session = services.session_start(
        chatbot=chatbot, version=version, participant=allowed, platform=Platform.PUBLIC_LINK
    )

    assert excinfo.value.code == "session.not_allowed"
    assert session.version == version
    member = services.participant_for_member(user=owner)
    assert services.session_start(chatbot=chatbot, version=version, participant=member, platform=Platform.WEB)


def test_tags_and_comments_on_messages(member_session, owner):
    message = say(member_session, "hi")

    services.message_tag_add(message=message, name=" needs-review ", user=owner)
    services.message_tag_add(message=message, name="needs-review", user=owner)
    comment = services.message_comment_add(message=message, text="Check this answer", user=owner)

    assert [t.name for t in message.tags.all()] == ["needs-review"]
    assert comment.user == owner
    with pytest.raises(InvalidStateError):
        services.message_comment_add(message=message, text=" ", user=owner)
    services.message_tag_remove(message=message, tag=message.tags.get())
    assert not message.tags.exists()

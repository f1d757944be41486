"""The public link: anyone chats with the published version; each visitor sees only their own session and files."""

import re

from tenant_apps.chatbots.services import chatbot_archive, chatbot_update, version_create
from tenant_apps.conversations import turns
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import ChatSession
from tests.factories.conversations import upload


def test_public_link_lets_anyone_chat_with_the_published_version(team, public_bot, client_for, fake_llm):
    visitor = client_for(team)

    first = visitor.get(f"/c/{public_bot.public_id}/")
    page = visitor.get(f"/c/{public_bot.public_id}/")
    session = ChatSession.objects.get(chatbot=public_bot, platform=Platform.PUBLIC_LINK)
    sent = visitor.post(f"/c/{public_bot.public_id}/s/{session.external_id}/send/", {"message": "hello"})
    message_id = int(re.search(rb'id="pending-(\d+)"', sent.content).group(1))
    turns.turn_process(message_id=message_id)
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


def test_public_visitor_downloads_only_their_own_files(team, public_bot, owner, client_for):
    chatbot_update(chatbot=public_bot, actor=owner, file_uploads_enabled=True)
    version_create(chatbot=public_bot, actor=owner, publish=True)
    alice, mallory = client_for(team), client_for(team)
    alice.get(f"/c/{public_bot.public_id}/")
    session = ChatSession.objects.get(chatbot=public_bot, platform=Platform.PUBLIC_LINK)
    base = f"/c/{public_bot.public_id}/s/{session.external_id}/"
    alice.post(base + "send/", {"message": "mine", "files": [upload("mine.txt", b"private")]})
    file_id = session.files.get().pk
    mallory.get(f"/c/{public_bot.public_id}/")

    assert alice.get(f"{base}files/{file_id}/").status_code == 200
    assert mallory.get(f"{base}files/{file_id}/").status_code == 404


def _session_of(visitor, public_bot):
    visitor.get(f"/c/{public_bot.public_id}/")
    return ChatSession.objects.filter(chatbot=public_bot, platform=Platform.PUBLIC_LINK).latest("id")


def test_a_visitor_may_send_up_to_the_limit_then_gets_a_429_with_retry_after_and_a_message(
    team, public_bot, client_for, rate_limits_on, settings
):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "public_chat.message.visitor": "3/60"}
    visitor = client_for(team)
    session = _session_of(visitor, public_bot)
    send = f"/c/{public_bot.public_id}/s/{session.external_id}/send/"

    answers = [visitor.post(send, {"message": f"hi {n}"}) for n in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Limit"] == "3"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["HX-Retarget"] == "#composer-state"
    assert b"Please wait" in refused.content
    assert session.messages.count() == 3  # the refused message was not stored


def test_the_chatbot_limit_counts_every_visitor_together(team, public_bot, client_for, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "public_chat.message.chatbot": "2/60"}
    sends = []
    for _ in range(3):
        visitor = client_for(team)
        session = _session_of(visitor, public_bot)
        sends.append(visitor.post(f"/c/{public_bot.public_id}/s/{session.external_id}/send/", {"message": "hi"}))

    assert [s.status_code for s in sends] == [200, 200, 429]


def test_new_anonymous_sessions_are_limited_per_visitor_with_a_friendly_page(
    team, public_bot, client_for, rate_limits_on, settings
):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "public_chat.session.visitor": "2/600"}
    visitor = client_for(team)
    link = f"/c/{public_bot.public_id}/"

    first = visitor.get(link)  # first visit: a new session
    resumed = visitor.get(link)  # the same session: not counted
    second = visitor.get(link + "?new=1")
    refused = visitor.get(link + "?new=1")
    cookieless = client_for(team).get(link)  # a new browser from the same address is the same visitor

    assert (first.status_code, resumed.status_code, second.status_code) == (302, 200, 302)
    assert refused.status_code == cookieless.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    assert b"Please wait" in refused.content
    assert ChatSession.objects.filter(chatbot=public_bot, platform=Platform.PUBLIC_LINK).count() == 2


def test_new_anonymous_sessions_are_limited_per_chatbot(team, public_bot, client_for, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "public_chat.session.chatbot": "1/600"}

    first = client_for(team).get(f"/c/{public_bot.public_id}/")
    second = client_for(team).get(f"/c/{public_bot.public_id}/", REMOTE_ADDR="10.9.9.9")

    assert (first.status_code, second.status_code) == (302, 429)

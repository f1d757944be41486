"""The public link: anyone chats with the published version; each visitor sees only their own session and files."""

import re

from tenant_apps.chatbots.models import ConsentForm
from tenant_apps.chatbots.services import chatbot_archive, chatbot_update, version_create
from tenant_apps.conversations import streams, turns
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import ChatMessage, ChatSession, Participant
from tests.factories.conversations import public_first_send, upload


def test_public_link_lets_anyone_chat_with_the_published_version(team, public_bot, client_for, fake_llm):
    visitor = client_for(team)

    page = visitor.get(f"/c/{public_bot.public_id}/")
    sent, base = public_first_send(visitor, public_bot.public_id, "hello")
    session = ChatSession.objects.get(chatbot=public_bot, platform=Platform.PUBLIC_LINK)
    message_id = int(re.search(rb'id="pending-(\d+)"', sent.content).group(1))
    turns.turn_process(message_id=message_id)
    reply = visitor.get(f"{base}messages/{message_id}/reply/")
    again = visitor.get(f"/c/{public_bot.public_id}/")

    assert page.status_code == 200
    assert base == f"/c/{public_bot.public_id}/s/{session.external_id}/"
    assert f'hx-post="{base}send/'.encode() in again.content  # the page resumes the visitor's session
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
    public_first_send(alice, public_bot.public_id, "mine")
    session = ChatSession.objects.get(chatbot=public_bot, platform=Platform.PUBLIC_LINK)
    public_first_send(mallory, public_bot.public_id, "theirs")

    response = mallory.post(f"/c/{public_bot.public_id}/s/{session.external_id}/send/", {"message": "hijack"})

    assert response.status_code == 404
    assert list(session.messages.values_list("content", flat=True)) == ["mine"]


def test_public_link_of_another_teams_chatbot_is_404(team, public_bot, team_b, client_for):
    assert client_for(team_b).get(f"/c/{public_bot.public_id}/").status_code == 404


def test_public_visitor_downloads_only_their_own_files(team, public_bot, owner, client_for):
    chatbot_update(chatbot=public_bot, actor=owner, file_uploads_enabled=True)
    version_create(chatbot=public_bot, actor=owner, publish=True)
    alice, mallory = client_for(team), client_for(team)
    _, base = public_first_send(alice, public_bot.public_id, "hi")
    session = ChatSession.objects.get(chatbot=public_bot, platform=Platform.PUBLIC_LINK)
    alice.post(base + "send/", {"message": "mine", "files": [upload("mine.txt", b"private")]})
    file_id = session.files.get().pk
    public_first_send(mallory, public_bot.public_id, "hi")

    assert alice.get(f"{base}files/{file_id}/").status_code == 200
    assert mallory.get(f"{base}files/{file_id}/").status_code == 404


def test_opening_the_link_creates_nothing_until_the_first_message(team, public_bot, owner, client_for):
    """Link previews and crawlers: no participant, no session, no seed turn (no model call)."""
    chatbot_update(chatbot=public_bot, actor=owner, seed_message="Greet the visitor")
    version_create(chatbot=public_bot, actor=owner, publish=True)
    visitor = client_for(team)

    pages = [visitor.get(f"/c/{public_bot.public_id}/"), visitor.get(f"/c/{public_bot.public_id}/?new=1")]

    assert [page.status_code for page in pages] == [200, 200]
    assert f'hx-post="/c/{public_bot.public_id}/send/'.encode() in pages[0].content
    assert not Participant.objects.filter(platform=Platform.PUBLIC_LINK).exists()
    assert not ChatSession.objects.filter(chatbot=public_bot).exists()
    assert not ChatMessage.objects.exists()

    sent, _ = public_first_send(visitor, public_bot.public_id, "hello")

    session = ChatSession.objects.get(chatbot=public_bot)
    assert list(session.messages.order_by("id").values_list("content", "hidden")) == [
        ("Greet the visitor", True),  # the seed, sent to the bot first
        ("hello", False),
    ]
    assert sent.content.count(b'id="pending-') == 2  # both turns are on their way


def test_new_conversation_starts_on_its_first_message(team, public_bot, client_for):
    visitor = client_for(team)
    _, first = public_first_send(visitor, public_bot.public_id, "one")

    page = visitor.get(f"/c/{public_bot.public_id}/?new=1")
    _, second = public_first_send(visitor, public_bot.public_id, "two", new=True)

    assert b"?wait=20&amp;stream=1&amp;new=1" in page.content
    assert first != second
    assert ChatSession.objects.filter(chatbot=public_bot).count() == 2


def test_consent_before_the_first_message(team, public_bot, owner, client_for):
    form = ConsentForm.objects.create(name="Study", consent_text="We **record** chats.")
    chatbot_update(chatbot=public_bot, actor=owner, consent_form=form)
    version_create(chatbot=public_bot, actor=owner, publish=True)
    visitor = client_for(team)

    page = visitor.get(f"/c/{public_bot.public_id}/")
    started_before = ChatSession.objects.filter(chatbot=public_bot).exists()
    agreed = visitor.post(f"/c/{public_bot.public_id}/consent/")
    after = visitor.get(f"/c/{public_bot.public_id}/")

    assert b"<strong>record</strong>" in page.content
    assert f'action="/c/{public_bot.public_id}/consent/"'.encode() in page.content
    assert not started_before
    assert agreed.status_code == 302
    session = ChatSession.objects.get(chatbot=public_bot)
    assert session.status == "active"
    assert f'hx-post="/c/{public_bot.public_id}/s/{session.external_id}/send/'.encode() in after.content


def test_a_streaming_send_answers_at_once_with_a_stream_for_this_host(team, public_bot, client_for, settings):
    settings.CHAT_STREAM_PORT = 8001
    visitor = client_for(team)
    _, base = public_first_send(visitor, public_bot.public_id, "first")

    sent = visitor.post(f"{base}send/?wait=20&stream=1", {"message": "stream it"})

    message = ChatMessage.objects.get(content="stream it")
    url = re.search(rb'data-stream="([^"]+)"', sent.content).group(1).decode()
    host = visitor.host.split(":")[0]
    assert url.startswith(f"http://{host}:8001/stream/turn/")
    token = url.rsplit("/", 2)[1]
    grant = streams.grant_read(token, host=host)
    assert grant == streams.StreamGrant(schema=team.schema_name, message_id=message.pk, host=host)
    assert streams.grant_read(token, host="other.localhost") is None
    assert f'data-reply-url="{base}messages/{message.pk}/reply/"'.encode() in sent.content


def test_without_streaming_the_send_still_waits_for_the_reply(team, public_bot, client_for, settings):
    settings.CHAT_STREAMING = False
    visitor = client_for(team)
    _, base = public_first_send(visitor, public_bot.public_id, "first")

    sent = visitor.post(f"{base}send/?stream=1", {"message": "no stream"})
    page = visitor.get(f"/c/{public_bot.public_id}/")

    assert b"data-stream=" not in sent.content
    assert b'id="pending-' in sent.content
    assert b"stream=1" not in page.content


def _session_of(visitor, public_bot):
    """The visitor's session, started by their first message (which counts against the message limits)."""
    public_first_send(visitor, public_bot.public_id, "first")
    return ChatSession.objects.filter(chatbot=public_bot, platform=Platform.PUBLIC_LINK).latest("id")


def test_a_visitor_may_send_up_to_the_limit_then_gets_a_429_with_retry_after_and_a_message(
    team, public_bot, client_for, rate_limits_on, settings
):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "public_chat.message.visitor": "3/60"}
    visitor = client_for(team)
    session = _session_of(visitor, public_bot)
    send = f"/c/{public_bot.public_id}/s/{session.external_id}/send/"

    answers = [visitor.post(send, {"message": f"hi {n}"}) for n in range(3)]  # the first message was the 1st

    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Limit"] == "3"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert refused["HX-Retarget"] == "#composer-state"
    assert b"Please wait" in refused.content
    assert session.messages.count() == 3  # the refused message was not stored


def test_the_chatbot_limit_counts_every_visitor_together(team, public_bot, client_for, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {
        **settings.APP_RATE_LIMITS,
        "public_chat.message.chatbot": "3/60",
    }  # first messages count too
    sends = []
    for _ in range(2):
        visitor = client_for(team)
        session = _session_of(visitor, public_bot)
        sends.append(visitor.post(f"/c/{public_bot.public_id}/s/{session.external_id}/send/", {"message": "hi"}))

    assert [s.status_code for s in sends] == [200, 429]


def test_new_anonymous_sessions_are_limited_per_visitor_with_a_friendly_page(
    team, public_bot, client_for, rate_limits_on, settings
):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "public_chat.session.visitor": "2/600"}
    visitor = client_for(team)
    link = f"/c/{public_bot.public_id}/"

    pages = [visitor.get(link), visitor.get(link + "?new=1")]  # opening the link starts (and counts) nothing
    first = visitor.post(link + "send/", {"message": "one"})  # first message: a new session
    resumed = visitor.post(link + "send/", {"message": "two"})  # the same session: not counted
    second = visitor.post(link + "send/?new=1", {"message": "three"})
    refused = visitor.post(link + "send/?new=1", {"message": "four"})
    cookieless = client_for(team).post(link + "send/", {"message": "five"})  # same address: the same visitor

    assert [page.status_code for page in pages] == [200, 200]
    assert (first.status_code, resumed.status_code, second.status_code) == (200, 200, 200)
    assert refused.status_code == cookieless.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 600
    assert b"Please wait" in refused.content
    assert refused["HX-Retarget"] == "#composer-state"  # the text stays in the box
    assert ChatSession.objects.filter(chatbot=public_bot, platform=Platform.PUBLIC_LINK).count() == 2


def test_new_anonymous_sessions_are_limited_per_chatbot(team, public_bot, client_for, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "public_chat.session.chatbot": "1/600"}

    first = client_for(team).post(f"/c/{public_bot.public_id}/send/", {"message": "hi"})
    second = client_for(team).post(f"/c/{public_bot.public_id}/send/", {"message": "hi"}, REMOTE_ADDR="10.9.9.9")
    consent = client_for(team).post(f"/c/{public_bot.public_id}/consent/", REMOTE_ADDR="10.9.9.8")

    assert (first.status_code, second.status_code, consent.status_code) == (200, 429, 429)

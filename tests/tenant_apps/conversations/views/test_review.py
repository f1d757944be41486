"""Review pages: sessions list and filters, transcript with tags and comments, traces, CSV export; 404 across
teams."""

from django.core.files.base import ContentFile

from tenant_apps.chatbots.services import version_create
from tenant_apps.conversations import exports, services, turns
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import ChatFile, SessionExport
from tenants.context import tenant_context
from tenants.enums import Role
from tests.factories.conversations import say


def test_session_list_filters(owner_client, chatbot, owner):
    version = version_create(chatbot=chatbot, actor=owner)
    participant = services.participant_for_member(user=owner)
    on_version = services.session_start(
        chatbot=chatbot, version=version, participant=participant, platform=Platform.WEB
    )
    working = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    services.session_end(session=working)
    tagged = say(on_version, "tag me")
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


def test_session_list_searches_message_text_and_previews_the_last_message(owner_client, chatbot, owner):
    participant = services.participant_for_member(user=owner)
    trip = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    say(trip, "Which train goes to Lisbon?")
    say(trip, "And back on Sunday " + "x" * 300)
    other = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    say(other, "Nothing about travel")

    def listed(**query):
        content = owner_client.get("/sessions/", query).content.decode()
        return content, {s.external_id for s in (trip, other) if str(s.external_id) in content}

    everything, both = listed()
    assert both == {trip.external_id, other.external_id}
    assert "And back on Sunday" in everything  # the last message, not the first
    assert "Which train" not in everything
    assert "x" * 121 not in everything  # cut to a preview
    assert listed(q="lisbon")[1] == {trip.external_id}  # any message, case-insensitive
    assert listed(q="nowhere at all")[1] == set()


def test_transcript_tag_comment_and_end(owner_client, chatbot, owner, fake_llm):
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    message = say(session, "question")
    reply = turns.turn_process(message_id=message.pk)
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
    reply = turns.turn_process(message_id=say(session, "hi").pk)

    page = owner_client.get(f"/traces/{reply.reply_to.trace.pk}/")

    assert page.status_code == 200
    assert b"llm" in page.content
    assert b"Success" in page.content


def test_export_creates_a_csv_with_progress_and_download(owner_client, chatbot, owner, fake_llm, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    turns.turn_process(message_id=say(session, "hi, export me").pk)

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


def test_other_teams_session_trace_and_export_answer_404(team_b, make_member, client_for, chatbot, owner, fake_llm):
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    reply = turns.turn_process(message_id=say(session, "secret").pk)
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

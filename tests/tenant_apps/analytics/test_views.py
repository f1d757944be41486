"""The team home: the week in numbers and the getting-started checklist, from the apps the team builds with."""

from tenant_apps.conversations.enums import Platform
from tests.factories.conversations import say


def test_team_home_counts_the_weeks_chatbots_sessions_and_messages(team, owner, chatbot, client_for):
    from tenant_apps.conversations import services

    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    say(session, "hello")

    response = client_for(team, owner).get("/")

    overview = response.context["overview"]
    assert response.status_code == 200
    assert (overview.chatbots, overview.sessions_7d, overview.messages_7d) == (1, 1, 1)
    assert dict(overview.getting_started) == {
        "Add an LLM provider": True,
        "Create a chatbot": True,
        "Chat with it": True,
        "Publish a version": False,
    }

"""PreparedQuery: compiled once, run with new values, same objects as the ORM, in the active team's schema."""

import pytest
from django.db.models import F

from shared_apps.core.prepared import PreparedQuery
from tenant_apps.conversations.models import ChatSession, Participant, Tag
from tenants.context import tenant_context

TAG = PreparedQuery(lambda name: Tag.objects.filter(name=name)[:1], name="\x00tag")


def test_runs_with_new_values_each_time_and_returns_none_when_nothing_matches(team):
    first, second = Tag.objects.create(name="first"), Tag.objects.create(name="second")

    assert TAG.first(name="first") == first
    assert TAG.first(name="second") == second
    assert TAG.first(name="third") is None


def test_builds_related_objects_and_annotations_like_the_orm(team):
    from tenant_apps.chatbots.services import chatbot_create

    chatbot = chatbot_create(name="Helper", created_by=None)
    participant = Participant.objects.create(platform="web", identifier="ada@example.com", name="Ada")
    session = ChatSession.objects.create(chatbot=chatbot, participant=participant, platform="web")
    query = PreparedQuery(
        lambda pk: (
            ChatSession.objects.select_related("participant", "chatbot__pipeline", "version")
            .annotate(who=F("participant__name"))
            .filter(pk=pk)[:1]
        ),
        pk=-1,
    )

    loaded = query.first(pk=session.pk)

    assert loaded == session
    assert loaded.who == "Ada"
    assert loaded.participant.identifier == "ada@example.com"
    assert loaded.chatbot.pipeline.graph == chatbot.pipeline.graph
    assert loaded.version is None


def test_reads_the_active_teams_schema(team_a, team_b):
    for team in (team_a, team_b):
        with tenant_context(team):
            Tag.objects.create(name=f"{team.slug}-only")

    with tenant_context(team_a):
        assert TAG.first(name="alpha-only") is not None
    with tenant_context(team_b):
        assert TAG.first(name="alpha-only") is None
        assert TAG.first(name="bravo-only") is not None


def test_misuse_is_refused(team):
    with pytest.raises(ValueError, match="placeholders not found"):
        PreparedQuery(lambda name: Tag.objects.filter(name="fixed")[:1], name="\x00x").first(name="y")
    with pytest.raises(TypeError, match="expected arguments"):
        TAG.first(nam="typo")

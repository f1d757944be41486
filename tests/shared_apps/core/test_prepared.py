"""PreparedQuery: compiled once, run with new values, same objects as the ORM, in the active team's schema.
write_together: the same rows as the ORM, all or nothing, in the active team's schema."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from shared_apps.core.prepared import PreparedQuery, insert, update, write_together
from tenant_apps.conversations.models import ChatMessage, ChatSession, Participant, Tag
from tenants.context import tenant_context

TAG = PreparedQuery(lambda name: Tag.objects.filter(name=name)[:1], name=str)


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
        pk=int,
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
        PreparedQuery(lambda name: Tag.objects.filter(name="fixed")[:1], name=str).first(name="y")
    with pytest.raises(TypeError, match="expected arguments"):
        TAG.first(nam="typo")
    with pytest.raises(TypeError, match=r"int, str, uuid\.UUID or datetime"):
        PreparedQuery(lambda day: Tag.objects.filter(created_at__date=day)[:1], day=object)


# ------------------------------------------------------------------------------------------------ write_together


def _session():
    from tenant_apps.chatbots.services import chatbot_create

    chatbot = chatbot_create(name="Helper", created_by=None)
    participant = Participant.objects.create(platform="web", identifier="ada@example.com")
    return ChatSession.objects.create(chatbot=chatbot, participant=participant, platform="web")


def _row(model, pk):
    return {f.attname: getattr(model.objects.get(pk=pk), f.attname) for f in model._meta.concrete_fields}


def test_writes_the_same_rows_as_the_orm_and_gives_new_objects_their_keys(team):
    session = _session()
    by_orm = ChatMessage.objects.create(session=session, role="assistant", content="hi", metadata={"a": [1]})
    mine = ChatMessage(session=session, role="assistant", content="hi", metadata={"a": [1]})
    later = timezone.now() + timedelta(minutes=5)

    write_together(insert(mine), update(ChatSession, session.pk, last_activity_at=later, state={"step": 2}))

    assert mine.pk not in (None, by_orm.pk)
    assert not mine._state.adding
    ignored = {"id", "created_at"}
    assert {k: v for k, v in _row(ChatMessage, mine.pk).items() if k not in ignored} == {
        k: v for k, v in _row(ChatMessage, by_orm.pk).items() if k not in ignored
    }
    assert ChatMessage.objects.get(pk=mine.pk).created_at == mine.created_at  # auto_now_add, as save() sets it
    session.refresh_from_db()
    assert (session.last_activity_at, session.state) == (later, {"step": 2})


def test_a_refused_write_leaves_none_of_the_others(team):
    session = _session()
    first = ChatMessage.objects.create(session=session, role="user", content="q")
    ChatMessage.objects.create(session=session, role="assistant", content="a", reply_to=first)

    with pytest.raises(IntegrityError), transaction.atomic():  # a second reply to the same message
        write_together(
            insert(ChatMessage(session=session, role="assistant", content="fresh")),
            update(ChatSession, session.pk, state={"changed": True}),
            insert(ChatMessage(session=session, role="assistant", content="again", reply_to=first)),
        )

    assert not ChatMessage.objects.filter(content="fresh").exists()
    session.refresh_from_db()
    assert session.state == {}


def test_writes_go_to_the_active_teams_schema(team_a, team_b):
    with tenant_context(team_a):
        write_together(insert(Tag(name="alpha-written")))
    with tenant_context(team_b):
        assert not Tag.objects.filter(name="alpha-written").exists()
    with tenant_context(team_a):
        assert Tag.objects.filter(name="alpha-written").exists()


def test_insert_refuses_a_saved_object(team):
    with pytest.raises(ValueError, match="new instances"):
        insert(Tag.objects.create(name="saved"))

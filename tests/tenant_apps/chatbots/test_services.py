import threading

import pytest
from django.db import connection, connections

from tenant_apps.audit.models import AuditEvent
from tenant_apps.chatbots import selectors, services
from tenant_apps.chatbots.exceptions import ChatbotInvalidError, InvalidStateError
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion, ConsentForm
from tenant_apps.pipelines.services import pipeline_update_graph
from tests.factories.pipelines import chain, llm, node


def test_chatbot_create_uses_the_teams_first_llm_provider_and_model(chatbot, fake_provider):
    graph = chatbot.pipeline.graph

    assert [n["type"] for n in graph["nodes"]] == ["start", "llm", "end"]
    llm_node = next(n for n in graph["nodes"] if n["type"] == "llm")
    assert llm_node["params"]["llm_provider_id"] == fake_provider.pk
    assert llm_node["params"]["llm_model"] == "fake-model"
    assert chatbot.published_version is None
    assert AuditEvent.objects.filter(action="chatbot.created", target_id=str(chatbot.pk)).exists()


def test_chatbot_create_without_name_is_refused(team, owner):
    with pytest.raises(ChatbotInvalidError) as excinfo:
        services.chatbot_create(name="  ", created_by=owner)

    assert excinfo.value.code == "chatbot.invalid_name"


def test_first_version_is_published_automatically(chatbot, owner):
    version = services.version_create(chatbot=chatbot, actor=owner, description="first")

    chatbot.refresh_from_db()
    assert version.number == 1
    assert chatbot.published_version == version
    assert version.pipeline.is_frozen
    assert version.pipeline.pk != chatbot.pipeline.pk


def test_later_version_is_published_only_when_asked(chatbot, owner):
    first = services.version_create(chatbot=chatbot, actor=owner)

    second = services.version_create(chatbot=chatbot, actor=owner, publish=False)
    chatbot.refresh_from_db()
    assert second.number == 2
    assert chatbot.published_version == first

    third = services.version_create(chatbot=chatbot, actor=owner, publish=True)
    chatbot.refresh_from_db()
    assert chatbot.published_version == third


def test_editing_the_working_copy_never_changes_a_version(chatbot, owner):
    version = services.version_create(chatbot=chatbot, actor=owner)
    frozen_graph = version.pipeline.graph

    services.chatbot_update(chatbot=chatbot, actor=owner, name="Renamed", seed_message="Hi!")
    pipeline = chatbot.pipeline
    pipeline_update_graph(pipeline=pipeline, graph=chain(llm(prompt="Be terse.")), base_revision=pipeline.edit_revision)

    version.refresh_from_db()
    version.pipeline.refresh_from_db()
    assert version.snapshot["name"] == "Helper"
    assert version.snapshot["seed_message"] == ""
    assert version.pipeline.graph == frozen_graph
    config = selectors.bot_config(chatbot=chatbot, version=version)
    assert config.name == "Helper"
    assert config.pipeline.graph == frozen_graph


def test_version_snapshot_copies_the_consent_text(chatbot, owner):
    form = ConsentForm.objects.create(name="Research", consent_text="We record chats.", confirmation_text="yes")
    services.chatbot_update(chatbot=chatbot, actor=owner, consent_form=form)

    version = services.version_create(chatbot=chatbot, actor=owner)
    services.consent_form_save(
        form=form, name="Research", consent_text="New wording.", confirmation_text="yes", actor=owner
    )

    config = selectors.bot_config(chatbot=chatbot, version=version)
    assert config.consent.consent_text == "We record chats."
    assert selectors.bot_config(chatbot=chatbot, version=None).consent.consent_text == "New wording."


def test_invalid_pipeline_cannot_be_versioned(chatbot, owner):
    pipeline = chatbot.pipeline
    pipeline_update_graph(
        pipeline=pipeline, graph={"nodes": [node("start", "start")], "edges": []}, base_revision=pipeline.edit_revision
    )

    with pytest.raises(ChatbotInvalidError) as excinfo:
        services.version_create(chatbot=chatbot, actor=owner)

    assert excinfo.value.code == "chatbot.invalid_pipeline"
    assert excinfo.value.extra["errors"]
    assert not ChatbotVersion.objects.filter(chatbot=chatbot).exists()


def test_publish_any_version_switches_the_published_one(chatbot, owner):
    first = services.version_create(chatbot=chatbot, actor=owner)
    second = services.version_create(chatbot=chatbot, actor=owner, publish=True)

    services.version_publish(version=first, actor=owner)

    chatbot.refresh_from_db()
    assert chatbot.published_version == first
    assert AuditEvent.objects.filter(action="chatbot.version_published", data__version=first.number).count() == 2
    assert second.pk != first.pk


def test_revert_copies_a_versions_settings_and_pipeline_into_the_working_copy(chatbot, owner):
    version = services.version_create(chatbot=chatbot, actor=owner)
    original_graph = version.pipeline.graph
    services.chatbot_update(chatbot=chatbot, actor=owner, name="Changed", participant_allowlist="a@example.com")
    pipeline = chatbot.pipeline
    pipeline_update_graph(pipeline=pipeline, graph=chain(llm(prompt="Other")), base_revision=pipeline.edit_revision)

    services.chatbot_revert(chatbot=chatbot, version=version, actor=owner)

    chatbot.refresh_from_db()
    chatbot.pipeline.refresh_from_db()
    assert chatbot.name == "Helper"
    assert chatbot.participant_allowlist == []
    assert chatbot.pipeline.graph == original_graph
    assert not chatbot.pipeline.is_frozen
    assert ChatbotVersion.objects.filter(chatbot=chatbot).count() == 1


def test_compare_version_with_working_copy_lists_readable_changes(chatbot, owner):
    version = services.version_create(chatbot=chatbot, actor=owner)
    services.chatbot_update(chatbot=chatbot, actor=owner, seed_message="Welcome!")

    comparison = selectors.version_compare(chatbot=chatbot, a=version, b=None)

    assert [(c.item, c.before, c.after) for c in comparison.settings_changes] == [("Seed message", "—", "Welcome!")]
    assert comparison.pipeline_changes == []


def test_allowlist_is_normalised_and_validated(chatbot, owner):
    services.chatbot_update(
        chatbot=chatbot, actor=owner, participant_allowlist="Ann@Example.com\n+1 (555) 010-9999\n\nann@example.com"
    )

    assert chatbot.participant_allowlist == ["ann@example.com", "+15550109999"]
    with pytest.raises(Exception, match="valid email"):
        services.chatbot_update(chatbot=chatbot, actor=owner, participant_allowlist="not-an-email@")


def test_copy_makes_an_editable_independent_chatbot(chatbot, owner):
    services.version_create(chatbot=chatbot, actor=owner)

    copy = services.chatbot_copy(chatbot=chatbot, name="Helper 2", actor=owner)

    assert copy.pk != chatbot.pk
    assert copy.pipeline.pk != chatbot.pipeline.pk
    assert not copy.pipeline.is_frozen
    assert copy.pipeline.graph == chatbot.pipeline.graph
    assert copy.published_version is None
    assert not copy.versions.exists()


def test_archive_hides_from_the_list_and_blocks_versions(chatbot, owner):
    services.chatbot_archive(chatbot=chatbot, actor=owner)

    assert chatbot not in selectors.chatbot_list()
    assert chatbot in selectors.chatbot_list(archived=True)
    with pytest.raises(InvalidStateError):
        services.version_create(chatbot=chatbot, actor=owner)

    services.chatbot_unarchive(chatbot=chatbot, actor=owner)
    assert chatbot in selectors.chatbot_list()


def test_consent_form_in_use_cannot_be_deleted(chatbot, owner):
    form = ConsentForm.objects.create(name="Study", consent_text="Agree?")
    services.chatbot_update(chatbot=chatbot, actor=owner, consent_form=form)

    with pytest.raises(InvalidStateError) as excinfo:
        services.consent_form_delete(form=form, actor=owner)

    assert excinfo.value.code == "consent.in_use"


def test_consent_form_save_reports_every_missing_field(team, owner):
    with pytest.raises(ChatbotInvalidError) as excinfo:
        services.consent_form_save(form=None, name="", consent_text="", confirmation_text=" ", actor=owner)

    assert set(excinfo.value.extra["fields"]) == {"name", "consent_text", "confirmation_text"}


def test_concurrent_version_creation_is_serialised(committed, fake_llm):
    """Two workers creating versions at once get distinct numbers; the row lock serialises them."""
    from tenants.context import tenant_context
    from tenants.models import Team
    from tests.factories.providers import llm_provider

    team_a = Team.objects.get(slug="alpha")
    with tenant_context(team_a):
        last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        provider = llm_provider(base_url=fake_llm.openai_base_url, name="Concurrent LLM")
        provider.custom_models.create(name="fake-model")
        bot = services.chatbot_create(name="Concurrent", created_by=None)
    numbers, errors = [], []
    barrier = threading.Barrier(2)

    def create() -> None:
        try:
            with tenant_context(team_a):
                barrier.wait()
                numbers.append(services.version_create(chatbot=Chatbot.objects.get(pk=bot.pk), actor=None).number)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    try:
        threads = [threading.Thread(target=create) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        assert errors == []
        assert sorted(numbers) == [1, 2]
        with tenant_context(team_a):
            assert Chatbot.objects.get(pk=bot.pk).published_version.number == 1
    finally:
        with tenant_context(team_a):
            pipelines = [
                bot.pipeline_id,
                *ChatbotVersion.objects.filter(chatbot=bot).values_list("pipeline_id", flat=True),
            ]
            ChatbotVersion.objects.filter(chatbot=bot).delete()
            Chatbot.objects.filter(pk=bot.pk).delete()
            from tenant_apps.pipelines.models import Pipeline

            Pipeline.objects.filter(pk__in=pipelines).delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()
            provider.delete()
        connection.set_schema_to_public()

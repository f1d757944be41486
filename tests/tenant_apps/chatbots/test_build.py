"""The Build tab: a start → LLM → end chatbot's model step as a form, validated as the pipeline API validates."""

import pytest

from tenant_apps.audit.models import AuditEvent
from tenant_apps.chatbots import selectors, services
from tenant_apps.chatbots.exceptions import ChatbotInvalidError, InvalidStateError
from tenant_apps.pipelines.exceptions import PipelineConflictError
from tenant_apps.pipelines.services import pipeline_update_graph
from tenants.enums import Role


@pytest.fixture
def owner_client(team, owner, client_for):
    return client_for(team, owner)


def _llm_params(chatbot):
    chatbot.pipeline.refresh_from_db()
    return selectors.simple_llm_node(chatbot.pipeline.graph)["params"]


def _post(chatbot, fake_provider, **overrides):
    data = {
        "base_revision": chatbot.pipeline.edit_revision,
        "model": f"{fake_provider.pk}:fake-model",
        "prompt": "You are a pirate.",
        "temperature": "0.3",
        "max_tokens": "200",
        "history_type": "global",
        "history_name": "",
        "history_mode": "max_history_length",
        "user_max_token_limit": "8192",
        "max_history_length": "6",
        "tools": ["end_session"],
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda g: g["nodes"].append({"id": "t", "type": "template", "params": {}}), id="extra-node"),
        pytest.param(lambda g: g["edges"].pop(), id="missing-edge"),
        pytest.param(lambda g: g["nodes"][1].update(type="llm_router"), id="router-instead"),
        pytest.param(lambda g: g["edges"][0].update(target="end"), id="rewired"),
    ],
)
def test_simple_llm_node_only_for_start_llm_end(chatbot, mutate):
    graph = chatbot.pipeline.graph

    assert selectors.simple_llm_node(graph)["type"] == "llm"
    mutate(graph)
    assert selectors.simple_llm_node(graph) is None


def test_chatbot_llm_update_changes_only_the_given_params_and_audits(chatbot, owner, fake_provider):
    params_before = _llm_params(chatbot)

    services.chatbot_llm_update(
        chatbot=chatbot,
        actor=owner,
        base_revision=chatbot.pipeline.edit_revision,
        prompt="Speak like a pirate.",
        temperature=0.5,
    )

    params = _llm_params(chatbot)
    assert params["prompt"] == "Speak like a pirate."
    assert params["temperature"] == 0.5
    assert params["llm_provider_id"] == params_before["llm_provider_id"]
    event = AuditEvent.objects.get(action="chatbot.model_settings_changed")
    assert event.data == {"fields": ["prompt", "temperature"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"temperature": 7}, "temperature", id="temperature-too-high"),
        pytest.param({"prompt": "Hello {name}"}, "prompt", id="unknown-variable"),
        pytest.param({"history_type": "named", "history_name": ""}, "history_name", id="named-without-name"),
        pytest.param({"max_tokens": 0}, "max_tokens", id="no-tokens"),
    ],
)
def test_chatbot_llm_update_refuses_what_the_pipeline_api_refuses(chatbot, owner, change, field):
    revision = chatbot.pipeline.edit_revision

    with pytest.raises(ChatbotInvalidError) as caught:
        services.chatbot_llm_update(chatbot=chatbot, actor=owner, base_revision=revision, **change)

    assert caught.value.code == "chatbot.invalid_llm"
    assert field in caught.value.extra["fields"]
    chatbot.pipeline.refresh_from_db()
    assert chatbot.pipeline.edit_revision == revision  # nothing saved


def test_chatbot_llm_update_refuses_a_stale_revision(chatbot, owner):
    stale = chatbot.pipeline.edit_revision
    pipeline_update_graph(pipeline=chatbot.pipeline, graph=chatbot.pipeline.graph, base_revision=stale)

    with pytest.raises(PipelineConflictError):
        services.chatbot_llm_update(chatbot=chatbot, actor=owner, base_revision=stale, prompt="x")


def test_chatbot_llm_update_refuses_other_shapes(chatbot, owner):
    graph = chatbot.pipeline.graph
    graph["nodes"].append({"id": "t", "type": "template", "params": {}})
    pipeline_update_graph(pipeline=chatbot.pipeline, graph=graph, base_revision=chatbot.pipeline.edit_revision)
    chatbot.pipeline.refresh_from_db()

    with pytest.raises(InvalidStateError) as caught:
        services.chatbot_llm_update(
            chatbot=chatbot, actor=owner, base_revision=chatbot.pipeline.edit_revision, prompt="x"
        )

    assert caught.value.code == "chatbot.not_simple"


def test_build_tab_shows_the_form_with_variables(owner_client, chatbot):
    response = owner_client.get(f"/chatbots/{chatbot.pk}/build/")

    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-testid="build-form"' in content
    assert "{session_state.&lt;key&gt;}" in content
    assert "Summarise older messages" in content  # labels from the node's own params schema
    assert "fake-model · Fake LLM" in content


def test_build_tab_saves_a_valid_form(owner_client, chatbot, fake_provider):
    response = owner_client.post(f"/chatbots/{chatbot.pk}/build/", _post(chatbot, fake_provider))

    assert response.status_code == 302
    params = _llm_params(chatbot)
    assert params["prompt"] == "You are a pirate."
    assert params["temperature"] == 0.3
    assert params["max_tokens"] == 200
    assert params["history_mode"] == "max_history_length"
    assert params["max_history_length"] == 6
    assert params["tools"] == ["end_session"]


def test_build_tab_shows_validation_errors_next_to_fields(owner_client, chatbot, fake_provider):
    revision = chatbot.pipeline.edit_revision

    response = owner_client.post(
        f"/chatbots/{chatbot.pk}/build/", _post(chatbot, fake_provider, temperature="5", prompt="Hi {nme}")
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert "{nme} is not a known variable" in content
    assert "less than or equal to 2" in content
    chatbot.pipeline.refresh_from_db()
    assert chatbot.pipeline.edit_revision == revision


def test_build_tab_reports_a_concurrent_save(owner_client, chatbot, fake_provider):
    data = _post(chatbot, fake_provider)
    pipeline_update_graph(pipeline=chatbot.pipeline, graph=chatbot.pipeline.graph, base_revision=data["base_revision"])

    response = owner_client.post(f"/chatbots/{chatbot.pk}/build/", data)

    assert response.status_code == 200
    assert "Someone else saved this pipeline" in response.content.decode()


def test_build_tab_points_other_shapes_to_the_editor(owner_client, chatbot):
    graph = chatbot.pipeline.graph
    graph["nodes"].append({"id": "t", "type": "template", "params": {}})
    pipeline_update_graph(pipeline=chatbot.pipeline, graph=graph, base_revision=chatbot.pipeline.edit_revision)

    response = owner_client.get(f"/chatbots/{chatbot.pk}/build/")

    assert 'data-testid="build-not-simple"' in response.content.decode()


def test_build_tab_is_read_only_for_viewers(team, chatbot, make_member, client_for, fake_provider):
    viewer = client_for(team, make_member(team, role=Role.VIEWER))

    page = viewer.get(f"/chatbots/{chatbot.pk}/build/")
    refused = viewer.post(f"/chatbots/{chatbot.pk}/build/", _post(chatbot, fake_provider))

    assert page.status_code == 200
    assert "Viewers can look, not change." in page.content.decode()
    assert refused.status_code == 404
    assert _llm_params(chatbot)["prompt"] != "You are a pirate."


def test_chatbot_create_with_model_and_prompt(owner_client, fake_provider):
    response = owner_client.post(
        "/chatbots/new/", {"name": "Poet", "model": f"{fake_provider.pk}:fake-model", "prompt": "Answer in haiku."}
    )

    chatbot = selectors.chatbot_list().get(name="Poet")
    assert response.status_code == 302
    params = _llm_params(chatbot)
    assert (params["llm_provider_id"], params["llm_model"], params["prompt"]) == (
        fake_provider.pk,
        "fake-model",
        "Answer in haiku.",
    )


def test_chatbot_create_refuses_an_invalid_prompt(owner_client, fake_provider):
    response = owner_client.post(
        "/chatbots/new/", {"name": "Poet", "model": f"{fake_provider.pk}:fake-model", "prompt": "Hi {who}"}
    )

    assert response.status_code == 200
    assert "{who} is not a known variable" in response.content.decode()
    assert not selectors.chatbot_list().filter(name="Poet").exists()


def test_chatbot_create_without_providers_says_so(owner_client, catalog):
    page = owner_client.get("/chatbots/new/")

    assert 'data-testid="no-providers"' in page.content.decode()

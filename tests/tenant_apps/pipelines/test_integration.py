"""The engine on the real LLM layer and HTTP client: official SDKs against the loopback fake provider, and the
SSRF-guarded client against a loopback server."""

from __future__ import annotations

import json

import pytest

from tenant_apps.pipelines import services
from tenant_apps.pipelines.adapters import run_context
from tests.factories.pipelines import chain, edge, graph, node
from tests.factories.providers import llm_provider
from tests.fakes.http_server import LoopbackServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider(team, fake_llm, catalog):
    return llm_provider(base_url=fake_llm.openai_base_url)


def run(document, **fields):
    pipeline = services.pipeline_create_default(name="p", llm_provider_id=None, llm_model=None)
    pipeline = services.pipeline_update_graph(pipeline=pipeline, graph=document, base_revision=1)
    fields.setdefault("input_text", "hi")
    return services.pipeline_run(pipeline=pipeline, context=run_context(**fields))


def test_llm_node_through_the_openai_sdk_with_a_tool_call(provider, fake_llm):
    fake_llm.tool_call("set_participant_data", {"key": "name", "value": "Ada"})
    fake_llm.reply("Nice to meet you, Ada.")
    document = chain(
        node(
            "llm",
            "llm",
            llm_provider_id=provider.pk,
            llm_model="fake-model",
            prompt="Know: {participant_data}",
            history_type="none",
            tools=["set_participant_data"],
        )
    )

    result = run(document, input_text="I'm Ada")

    assert result.ok, result.error
    assert result.output == "Nice to meet you, Ada."
    assert result.participant_data == {"name": "Ada"}
    first = fake_llm.requests[-2].json
    assert first["messages"][0] == {"role": "system", "content": "Know: {}"}
    assert [tool["function"]["name"] for tool in first["tools"]] == ["set_participant_data"]
    assert fake_llm.requests[-1].json["messages"][-1]["role"] == "tool"
    assert result.usage[0].calls == 2


def test_llm_router_uses_structured_output_through_the_sdk(provider, fake_llm):
    fake_llm.reply('{"route": "FR"}')
    document = graph(
        node("start", "start"),
        node("r", "llm_router", llm_provider_id=provider.pk, llm_model="fake-model", keywords=["EN", "FR"]),
        node("en", "template", template_string="hello"),
        node("fr", "template", template_string="bonjour"),
        node("end", "end"),
        edges=[
            edge("start", "r"),
            edge("r", "en", "output_0"),
            edge("r", "fr", "output_1"),
            edge("en", "end"),
            edge("fr", "end"),
        ],
    )

    result = run(document, input_text="salut")

    assert result.output == "bonjour"
    assert fake_llm.last_request.json["response_format"]["json_schema"]["schema"]["properties"]["route"]["enum"] == [
        "EN",
        "FR",
    ]


def test_llm_provider_error_becomes_a_failed_node(provider, fake_llm):
    fake_llm.error(400, "bad request")
    document = chain(node("llm", "llm", llm_provider_id=provider.pk, llm_model="fake-model", history_type="none"))

    result = run(document)

    assert (result.error.node_id, result.error.code.split(".")[0]) == ("llm", "llm")


def test_llm_node_with_a_deleted_provider_fails_cleanly(team):
    document = chain(node("llm", "llm", llm_provider_id=999, llm_model="fake-model", history_type="none"))

    result = run(document)

    assert (result.error.node_id, result.error.code) == ("llm", "provider.not_found")


def test_http_node_through_the_guarded_client(team):
    routes = {
        "/api": lambda req: (200, {"Content-Type": "application/json"}, json.dumps({"got": req.body.decode()}).encode())
    }
    with LoopbackServer(routes) as server:
        document = chain(node("h", "http_request", method="POST", url=server.url("/api"), body="{{ input | tojson }}"))

        result = run(document, input_text="ping")

    assert result.ok, result.error
    assert json.loads(result.output) == {"got": '"ping"'}
    assert server.received[0].headers["content-type"] == "application/json"


def test_http_node_private_address_is_refused_in_production(team, settings):
    settings.ALLOW_PRIVATE_URLS = False
    document = chain(node("h", "http_request", url="http://127.0.0.1:9/"))

    result = run(document)

    assert (result.error.node_id, result.error.code) == ("h", "http.unsafe_url")


def test_extract_node_through_the_sdk_sends_a_json_schema(provider, fake_llm):
    fake_llm.reply('{"city": "Lyon"}')
    document = chain(
        node(
            "x",
            "extract_structured_data",
            llm_provider_id=provider.pk,
            llm_model="fake-model",
            data_schema={"city": "where they live"},
            target="participant_data",
        )
    )

    result = run(document, input_text="I live in Lyon")

    assert result.participant_data == {"city": "Lyon"}
    assert "city" in fake_llm.last_request.json["response_format"]["json_schema"]["schema"]["properties"]


def test_one_model_lookup_per_run_for_nodes_sharing_a_model(provider, fake_llm, django_assert_max_num_queries):
    fake_llm.reply("first").reply("second")
    params = {"llm_provider_id": provider.pk, "llm_model": "fake-model", "history_type": "none"}
    pipeline = services.pipeline_create_default(name="p", llm_provider_id=None, llm_model=None)
    pipeline = services.pipeline_update_graph(
        pipeline=pipeline, graph=chain(node("a", "llm", **params), node("b", "llm", **params)), base_revision=1
    )
    services.pipeline_run(pipeline=pipeline, context=run_context(input_text="warm"))
    fake_llm.reply("first").reply("second")

    with django_assert_max_num_queries(1):  # the provider's updated_at, once, though two nodes use the model
        result = services.pipeline_run(pipeline=pipeline, context=run_context(input_text="hi"))

    assert result.output == "second"


def test_provider_used_by_a_pipeline_cannot_be_deleted(provider):
    from tenant_apps.providers.exceptions import ProviderInUseError
    from tenant_apps.providers.services import provider_delete

    services.pipeline_create_default(name="Helpdesk", llm_provider_id=provider.pk, llm_model="fake-model")

    with pytest.raises(ProviderInUseError) as caught:
        provider_delete(provider=provider)

    assert caught.value.extra["used_by"] == ["Pipeline 'Helpdesk'"]


def test_node_options_list_providers_and_models_without_secrets(provider, team_a, make_member, client_for):
    from tenants.enums import Role
    from tests.factories.providers import SECRET

    response = client_for(team_a, make_member(team_a, Role.VIEWER)).get("/pipelines/node-options/")

    body = response.json()
    assert response.status_code == 200
    assert [(p["id"], p["type"]) for p in body["llm_providers"]] == [(provider.pk, "openai")]
    assert body["llm_providers"][0]["models"]
    assert SECRET not in response.content.decode()


def test_node_options_answer_404_to_another_teams_member(team_a, team_b, make_member, client_for):
    from tenants.enums import Role

    response = client_for(team_a, make_member(team_b, Role.OWNER)).get("/pipelines/node-options/")

    assert response.status_code == 404

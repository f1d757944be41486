"""The editor's pages: working copy (editable for editors), versions read-only, the visual diff of two."""

import json
import re

import pytest

from tenant_apps.chatbots.services import version_create
from tenant_apps.pipelines import services as pipeline_services
from tenants.enums import Role
from tests.factories.pipelines import chain, llm

BUNDLE = b"build/editor/pipeline_editor.js"


@pytest.fixture
def owner_client(team, owner, client_for):
    return client_for(team, owner)


def editor_config(response):
    match = re.search(rb'<script id="pipeline-editor-config" type="application/json">(.*?)</script>', response.content)
    assert match, "the page carries the editor's configuration"
    return json.loads(match.group(1))


def test_editor_page_loads_the_bundle_with_the_working_copy(owner_client, chatbot):
    response = owner_client.get(f"/chatbots/{chatbot.pk}/pipeline/")

    assert response.status_code == 200
    assert BUNDLE in response.content
    config = editor_config(response)
    assert config["mode"] == "edit"
    assert (config["read_only"], config["can_edit"]) == (False, True)
    assert config["pipeline_url"] == f"/pipelines/{chatbot.pipeline_id}/"
    assert config["urls"]["test_send"] == f"/chatbots/{chatbot.pk}/pipeline/test/"
    assert config["urls"]["node_types"] == "/pipelines/node-types/"


def test_viewer_gets_the_editor_read_only(team, chatbot, make_member, client_for):
    viewer = client_for(team, make_member(team, Role.VIEWER))

    config = editor_config(viewer.get(f"/chatbots/{chatbot.pk}/pipeline/"))

    assert (config["read_only"], config["can_edit"]) == (True, False)


@pytest.mark.parametrize("path", ["/chatbots/", "/chatbots/{id}/", "/chatbots/{id}/versions/", "/"])
def test_pages_without_the_editor_do_not_load_its_bundle(owner_client, chatbot, path):
    response = owner_client.get(path.format(id=chatbot.pk))

    assert response.status_code == 200
    assert BUNDLE not in response.content


def test_chatbot_tabs_link_to_the_editor(owner_client, chatbot):
    response = owner_client.get(f"/chatbots/{chatbot.pk}/")

    assert f'href="/chatbots/{chatbot.pk}/pipeline/"'.encode() in response.content


def test_version_opens_read_only_on_its_frozen_pipeline(owner_client, chatbot, owner):
    version = version_create(chatbot=chatbot, actor=owner)

    config = editor_config(owner_client.get(f"/chatbots/{chatbot.pk}/versions/{version.number}/pipeline/"))

    assert config["read_only"] is True
    assert config["version"]["number"] == version.number
    assert config["pipeline_url"] == f"/pipelines/{version.pipeline_id}/"
    assert owner_client.get(f"/chatbots/{chatbot.pk}/versions/99/pipeline/").status_code == 404


def test_diff_page_carries_both_graphs_and_the_server_comparison(owner_client, chatbot, owner):
    version = version_create(chatbot=chatbot, actor=owner)
    working = chatbot.pipeline
    provider_id = working.graph["nodes"][1]["params"]["llm_provider_id"]
    graph = chain(llm("llm", prompt="Be brief.", llm_provider_id=provider_id))
    graph["nodes"].insert(2, {"id": "extra", "type": "template", "label": "Extra", "params": {}})
    pipeline_services.pipeline_update_graph(pipeline=working, graph=graph, base_revision=working.edit_revision)

    response = owner_client.get(f"/chatbots/{chatbot.pk}/versions/compare/pipeline/?a={version.number}&b=working")

    config = editor_config(response)
    diff = config["diff"]
    assert config["mode"] == "diff"
    assert (diff["a"]["label"], diff["b"]["label"]) == (f"Version {version.number}", "Working copy")
    assert [n["id"] for n in diff["b"]["graph"]["nodes"]] == ["start", "llm", "extra", "end"]
    kinds = {(c["kind"], c["node_id"], c["param"]) for c in diff["changes"] if c["node_id"]}
    assert ("added", "extra", None) in kinds
    assert ("changed", "llm", "prompt") in kinds
    assert all(c["area"] == "Pipeline" for c in diff["changes"])


@pytest.mark.parametrize("query", ["?a=abc", "?a=42"])
def test_diff_page_with_an_unknown_version_is_404(owner_client, chatbot, query):
    assert owner_client.get(f"/chatbots/{chatbot.pk}/versions/compare/pipeline/{query}").status_code == 404


def test_editor_pages_of_another_teams_chatbot_answer_404(chatbot, team_b, make_member, client_for):
    outsider = client_for(team_b, make_member(team_b, Role.OWNER))

    assert outsider.get(f"/chatbots/{chatbot.pk}/pipeline/").status_code == 404
    assert outsider.get(f"/chatbots/{chatbot.pk}/versions/compare/pipeline/").status_code == 404

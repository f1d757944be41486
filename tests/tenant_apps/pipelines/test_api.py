"""The editor's JSON API: node-type catalog, load and save with revisions, roles, and cross-team 404s."""

from __future__ import annotations

import json

import pytest

from tenant_apps.pipelines import services
from tenant_apps.pipelines.models import Pipeline
from tenants.context import tenant_context
from tenants.enums import Role
from tests.factories.pipelines import chain, llm

pytestmark = pytest.mark.django_db


@pytest.fixture
def pipeline(team_a):
    with tenant_context(team_a):
        return services.pipeline_create_default(name="Bot", llm_provider_id=1, llm_model="m")


@pytest.fixture
def as_role(team_a, make_member, client_for):
    return lambda role: client_for(team_a, make_member(team_a, role))


def put(client, pipeline_id, body):
    return client.put(f"/pipelines/{pipeline_id}/", data=json.dumps(body), content_type="application/json")


def test_node_types_lists_every_type_with_schema_and_ui_hints(as_role):
    response = as_role(Role.VIEWER).get("/pipelines/node-types/")

    assert response.status_code == 200
    catalog = {entry["type"]: entry for entry in response.json()["node_types"]}
    assert list(catalog)[:5] == ["start", "end", "llm", "llm_router", "static_router"]
    assert set(catalog) == {
        "start", "end", "llm", "llm_router", "static_router", "template", "code",
        "extract_structured_data", "http_request", "send_email",
    }  # fmt: skip
    llm_entry = catalog["llm"]
    assert set(llm_entry) == {
        "type", "label", "description", "icon", "can_add", "can_delete", "is_router", "inputs", "outputs", "schema",
        "defaults",
    }  # fmt: skip
    properties = llm_entry["schema"]["properties"]
    assert properties["prompt"]["ui:widget"] == "prompt_editor"
    assert properties["llm_provider_id"]["ui:optionsSource"] == "llm_providers"
    assert properties["history_name"]["ui:visibleWhen"] == {"field": "history_type", "equals": "named"}
    assert properties["history_type"]["enum"] == ["none", "global", "node", "named"]
    assert "ui:order" in properties["tools"]
    assert set(llm_entry["schema"]["required"]) == {"llm_provider_id", "llm_model"}
    assert llm_entry["defaults"]["history_mode"] == "summarize"
    assert (catalog["start"]["can_add"], catalog["start"]["inputs"]) == (False, [])
    assert catalog["end"]["outputs"] == {"kind": "static", "handles": []}
    assert catalog["llm_router"]["outputs"] == {"kind": "keywords", "param": "keywords", "handle_prefix": "output_"}
    assert catalog["llm_router"]["defaults"]["history_type"] == "none"
    variables = response.json()["variables"]
    assert "{participant_data}" in [v["insert"] for v in variables["prompt_editor"]]
    assert "{{ input }}" in [v["insert"] for v in variables["jinja_template"]]


def test_pipeline_get_returns_graph_revision_and_errors(as_role, team_a):
    with tenant_context(team_a):
        broken = services.pipeline_create_default(name="Bot", llm_provider_id=None, llm_model="m")

    response = as_role(Role.VIEWER).get(f"/pipelines/{broken.pk}/")

    body = response.json()
    assert response.status_code == 200
    assert (body["id"], body["name"], body["edit_revision"], body["is_frozen"]) == (broken.pk, "Bot", 1, False)
    assert body["graph"]["nodes"][1]["id"] == "llm"
    assert body["errors"] == [
        {
            "code": "node.invalid_params",
            "message": "Field required",
            "node_id": "llm",
            "edge_id": None,
            "field": "llm_provider_id",
        }
    ]


@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN, Role.OWNER])
def test_pipeline_put_saves_for_editors(as_role, pipeline, role):
    response = put(as_role(role), pipeline.pk, {"graph": chain(llm(prompt="{bad}")), "base_revision": 1})

    assert response.status_code == 200
    body = response.json()
    assert body["edit_revision"] == 2
    assert [error["field"] for error in body["errors"]] == ["prompt"]


def test_pipeline_post_also_saves(as_role, pipeline):
    response = as_role(Role.EDITOR).post(
        f"/pipelines/{pipeline.pk}/",
        data=json.dumps({"graph": chain(), "base_revision": 1}),
        content_type="application/json",
    )

    assert (response.status_code, response.json()["edit_revision"]) == (200, 2)


def test_pipeline_put_is_not_for_viewers(as_role, pipeline, team_a):
    response = put(as_role(Role.VIEWER), pipeline.pk, {"graph": chain(), "base_revision": 1})

    assert response.status_code == 404
    with tenant_context(team_a):
        assert Pipeline.objects.get(pk=pipeline.pk).edit_revision == 1


def test_pipeline_put_with_stale_revision_is_a_409(as_role, pipeline):
    client = as_role(Role.EDITOR)
    put(client, pipeline.pk, {"graph": chain(), "base_revision": 1})

    response = put(client, pipeline.pk, {"graph": chain(llm()), "base_revision": 1})

    assert response.status_code == 409
    assert response.json()["code"] == "pipeline.conflict"
    assert response.json()["extra"] == {"edit_revision": 2}


def test_pipeline_put_on_frozen_pipeline_is_a_409(as_role, pipeline, team_a):
    with tenant_context(team_a):
        frozen = services.pipeline_copy(pipeline=pipeline, frozen=True)

    response = put(as_role(Role.OWNER), frozen.pk, {"graph": chain(), "base_revision": 1})

    assert (response.status_code, response.json()["code"]) == (409, "pipeline.frozen")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        pytest.param({"graph": chain()}, "request.invalid", id="no-revision"),
        pytest.param({"graph": {"nodes": [{"id": 1}]}, "base_revision": 1}, "pipeline.bad_graph", id="not-a-graph"),
    ],
)
def test_pipeline_put_rejects_bad_input(as_role, pipeline, body, code):
    response = put(as_role(Role.EDITOR), pipeline.pk, body)

    assert (response.status_code, response.json()["code"]) == (400, code)


def test_pipeline_of_another_team_answers_404(team_b, as_role):
    with tenant_context(team_b):
        theirs = services.pipeline_create_default(name="Theirs", llm_provider_id=1, llm_model="m")
    client = as_role(Role.OWNER)  # an owner of team A, on team A's host

    assert client.get(f"/pipelines/{theirs.pk}/").status_code == 404
    assert put(client, theirs.pk, {"graph": chain(), "base_revision": 1}).status_code == 404
    with tenant_context(team_b):
        assert Pipeline.objects.get(pk=theirs.pk).edit_revision == 1


def test_pipeline_endpoints_answer_404_to_another_teams_member(pipeline, team_a, team_b, make_member, client_for):
    outsider = client_for(team_a, make_member(team_b, Role.OWNER))

    assert outsider.get("/pipelines/node-types/").status_code == 404
    assert outsider.get(f"/pipelines/{pipeline.pk}/").status_code == 404
    assert put(outsider, pipeline.pk, {"graph": chain(), "base_revision": 1}).status_code == 404


def test_pipeline_endpoints_refuse_anonymous_callers(pipeline, team_a, client_for):
    response = client_for(team_a).get(f"/pipelines/{pipeline.pk}/")

    assert (response.status_code, response.json()["code"]) == (401, "auth.unauthenticated")


@pytest.mark.parametrize(("read_only", "status"), [(False, 200), (True, 403)])
def test_pipeline_save_with_a_team_api_key(pipeline, team_a, client_for, read_only, status):
    from tenant_apps.api.services import api_key_create

    with tenant_context(team_a):
        _key, raw = api_key_create(name="k", read_only=read_only, created_by=None)
    client = client_for(team_a)

    response = client.put(
        f"/pipelines/{pipeline.pk}/",
        data=json.dumps({"graph": chain(), "base_revision": 1}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert response.status_code == status
    if read_only:
        assert response.json()["code"] == "api_key.read_only"


RETURN = "def main(input):\n    return "
PATHOLOGICAL = [
    pytest.param("code", {"code": RETURN + "+".join(["1"] * 20000)}, id="code-long-expression"),
    pytest.param("code", {"code": RETURN + "-" * 20000 + "1"}, id="code-deep-unary"),
    pytest.param("code", {"code": RETURN + "9" * 5000}, id="code-huge-literal"),
    pytest.param("template", {"template_string": "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}"}, id="template-deep"),
    pytest.param("template", {"template_string": "{{ " + "9" * 5000 + " }}"}, id="template-huge-literal"),
    pytest.param("template", {"template_string": "{{ 'x'|center(400000000) }}"}, id="template-over-limits"),
]


@pytest.mark.parametrize(("node_type", "params"), PATHOLOGICAL)
def test_pathological_source_is_a_validation_error_not_a_crash(pipeline, as_role, node_type, params):
    from tests.factories.pipelines import node

    client = as_role(Role.EDITOR)
    saved = put(client, pipeline.pk, {"graph": chain(node("n", node_type, **params)), "base_revision": 1})

    loaded = client.get(f"/pipelines/{pipeline.pk}/")

    assert (saved.status_code, loaded.status_code) == (200, 200)
    errors = [(error["node_id"], error["code"]) for error in loaded.json()["errors"]]
    assert errors == [("n", "node.invalid_params")]
    assert loaded.json()["errors"][0]["message"]

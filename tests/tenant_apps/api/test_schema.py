"""OpenAPI 3: the committed docs/openapi.yaml is the generated one, and the schema, Swagger UI and Redoc are served
on team hosts from local assets."""

from __future__ import annotations

from pathlib import Path

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"


def test_committed_schema_is_the_generated_one():
    schema = SchemaGenerator(urlconf="config.urls_tenant").get_schema(request=None, public=True)
    generated = OpenApiYamlRenderer().render(schema, renderer_context={}).decode()

    assert COMMITTED.read_text() == generated, (
        "docs/openapi.yaml is stale: python manage.py spectacular --urlconf config.urls_tenant --file docs/openapi.yaml"
    )


def test_schema_covers_every_api_route_and_the_key_schemes():
    schema = SchemaGenerator(urlconf="config.urls_tenant").get_schema(request=None, public=True)

    assert "/api/v1/chatbots/{chatbot_id}/pipeline/" in schema["paths"]
    assert "/api/openai/{chatbot_id}/chat/completions" in schema["paths"]
    assert not any(path.startswith("/pipelines/") for path in schema["paths"])  # the editor's internal API
    assert {"bearerAuth", "apiKeyAuth"} <= set(schema["components"]["securitySchemes"])


def test_schema_and_docs_pages_are_served_without_a_cdn(client_for, team):
    client = client_for(team)

    schema = client.get("/api/schema/?format=json")
    swagger = client.get("/api/schema/swagger/").content.decode()
    redoc = client.get("/api/schema/redoc/").content.decode()

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert "drf_spectacular_sidecar/swagger-ui-dist" in swagger
    assert "drf_spectacular_sidecar/redoc" in redoc
    assert "cdn." not in swagger + redoc
    assert "jsdelivr" not in swagger + redoc

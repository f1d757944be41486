"""Bad input to the team API is a 4xx JSON error ``{"code","message","extra"}``, never an HTML page or a 500: the
classes of failure the schema fuzzing (test_schemathesis.py) found, each pinned by a plain test."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.test.client import encode_multipart

from tenant_apps.api.services import api_key_create
from tenant_apps.chatbots.services import chatbot_update, version_create
from tenant_apps.conversations.services import participant_get_or_create, session_start

BOUNDARY = "fuzzboundary"


@pytest.fixture
def key(team):
    _key, raw = api_key_create(name="errors", read_only=False, created_by=None)
    return raw


@pytest.fixture
def api(client_for, team, key):
    client = client_for(team)

    def call(method, path, **kwargs):
        return getattr(client, method)(path, HTTP_X_API_KEY=key, **kwargs)

    return call


def _error(response, status, code):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "extra"}
    assert body["code"] == code
    return body


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/v1/chatbots/not-a-number/", id="integer-segment"),
        pytest.param("/api/v1/sessions/null,null/state/", id="uuid-segment"),
        pytest.param("/api/v1/no-such-resource/", id="unknown-resource"),
    ],
)
def test_unrouted_api_path_is_a_json_404(api, path):
    response = api("get", path)

    _error(response, 404, "request.not_found")


def test_unrouted_openai_path_is_a_404_in_openai_shape(api):
    response = api("get", "/api/openai/not-a-number/models")

    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_unrouted_page_path_is_still_the_html_page(client_for, team):
    response = client_for(team).get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("post", "/api/v1/chatbots/", id="create"),
        pytest.param("patch", "/api/v1/chatbots/1/", id="update"),
    ],
)
def test_form_body_to_a_json_endpoint_is_a_json_415(api, method, path):
    body = encode_multipart(BOUNDARY, {"name": "Support", "participant_allowlist": ["a", "b"]})

    response = api(method, path, data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")

    _error(response, 415, "request.unsupported_media_type")


@override_settings(DATA_UPLOAD_MAX_NUMBER_FIELDS=10)
def test_multipart_body_with_too_many_fields_is_a_json_400(api):
    body = encode_multipart(BOUNDARY, {"participant_allowlist": [str(n) for n in range(20)]})

    response = api("post", "/api/v1/chatbots/", data=body, content_type=f"multipart/form-data; boundary={BOUNDARY}")

    _error(response, 400, "request.malformed_body")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_json_body_over_the_size_limit_is_a_json_400(api):
    response = api("post", "/api/v1/chatbots/", data={"name": "x" * 2000}, content_type="application/json")

    _error(response, 400, "request.malformed")


def test_file_upload_still_takes_multipart(api, chatbot):
    chatbot_update(chatbot=chatbot, actor=None, file_uploads_enabled=True)
    version = version_create(chatbot=chatbot, actor=None)
    participant = participant_get_or_create(platform="api", identifier="uploader")
    session = session_start(chatbot=chatbot, version=version, participant=participant, platform="api")

    response = api(
        "post",
        f"/api/v1/sessions/{session.external_id}/files/",
        data={"file": SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")},
    )

    assert response.status_code == 201, response.json()
    assert [entry["name"] for entry in response.json()["files"]] == ["notes.txt"]


def test_channel_of_a_kind_without_a_platform_is_refused_not_a_500(api, chatbot, monkeypatch):
    # A declared kind whose platform module is not registered (Twilio SMS when this was found).
    monkeypatch.setattr("tenant_apps.channels.services.platform_for", lambda kind: None)

    response = api(
        "post",
        f"/api/v1/chatbots/{chatbot.pk}/channels/",
        data={"kind": "telegram", "name": "Telegram"},
        content_type="application/json",
    )

    body = _error(response, 409, "channel.unsupported_kind")
    assert body["extra"] == {"field": "kind"}

"""The management API's resources and conventions (docs/api.md), called with team API keys like a client would."""

from __future__ import annotations

import uuid

import pytest

from tenant_apps.api.services import api_key_create
from tenants.context import tenant_context


@pytest.fixture
def keys(team):
    with tenant_context(team):
        _key, full = api_key_create(name="full", read_only=False, created_by=None)
        _key, read_only = api_key_create(name="ro", read_only=True, created_by=None)
    return {"full": full, "ro": read_only}


@pytest.fixture
def api(client_for, team, keys):
    client = client_for(team)

    def call(method, path, data=None, key="full", **headers):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {keys[key]}", **headers}
        if data is not None:
            kwargs.update(data=data, content_type="application/json")
        return getattr(client, method)(path, **kwargs)

    return call


def test_chatbot_create_read_update_archive(api, fake_provider):
    created = api(
        "post",
        "/api/v1/chatbots/",
        {"name": "Support", "llm_provider_id": fake_provider.pk, "llm_model": "fake-model", "prompt": "Be brief."},
    )
    assert created.status_code == 201, created.json()
    bot = created.json()

    assert api("get", f"/api/v1/chatbots/{bot['id']}/").json()["name"] == "Support"
    changed = api("patch", f"/api/v1/chatbots/{bot['id']}/", {"seed_message": "Hi!", "is_public": True})
    assert changed.status_code == 200
    assert changed.json()["seed_message"] == "Hi!"
    assert changed.json()["is_public"] is True
    assert api("delete", f"/api/v1/chatbots/{bot['id']}/").status_code == 204
    assert api("get", f"/api/v1/chatbots/{bot['id']}/").json()["archived"] is True
    assert [b["id"] for b in api("get", "/api/v1/chatbots/").json()["results"]] == []


def test_chatbot_create_with_bad_input_is_400_with_error_shape(api, fake_provider):
    response = api("post", "/api/v1/chatbots/", {"name": "", "temperature": 9})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "request.invalid"
    assert set(body["extra"]["fields"]) == {"name", "temperature"}


def test_read_only_key_reads_but_cannot_write(api, chatbot):
    assert api("get", "/api/v1/chatbots/", key="ro").status_code == 200

    response = api("post", "/api/v1/chatbots/", {"name": "x"}, key="ro")

    assert response.status_code == 403
    assert response.json()["code"] == "api_key.read_only"


def test_pipeline_put_validates_like_the_editor_and_refuses_a_stale_revision(api, chatbot):
    url = f"/api/v1/chatbots/{chatbot.pk}/pipeline/"
    current = api("get", url).json()
    graph = current["graph"]
    llm = next(node for node in graph["nodes"] if node["type"] == "llm")
    llm["params"]["temperature"] = 0.2

    saved = api("put", url, {"graph": graph, "base_revision": current["edit_revision"]})
    stale = api("put", url, {"graph": graph, "base_revision": current["edit_revision"]})
    llm["params"]["temperature"] = "hot"
    invalid = api("put", url, {"graph": graph, "base_revision": saved.json()["edit_revision"]})

    assert saved.status_code == 200
    assert saved.json()["edit_revision"] == current["edit_revision"] + 1
    assert stale.status_code == 409
    assert stale.json()["code"] == "pipeline.conflict"
    # as in the editor, a draft with errors is saved and every error comes back, per node
    assert invalid.status_code == 200
    assert any(error["node_id"] == llm["id"] for error in invalid.json()["errors"])


def test_versions_create_publish_list_compare(api, chatbot):
    base = f"/api/v1/chatbots/{chatbot.pk}"
    first = api("post", f"{base}/versions/", {"description": "first"})
    api("patch", f"{base}/", {"seed_message": "Hello there"})
    second = api("post", f"{base}/versions/", {"description": "second"})

    assert first.status_code == 201
    assert first.json()["published"] is True
    assert second.json()["published"] is False
    assert api("post", f"{base}/versions/2/publish/").json()["published"] is True
    assert api("get", f"{base}/").json()["published_version"] == 2
    assert [v["number"] for v in api("get", f"{base}/versions/").json()["results"]] == [2, 1]
    changes = api("get", f"{base}/versions/compare/?a=1&b=2").json()["changes"]
    assert [(c["item"], c["after"]) for c in changes] == [("Seed message", "Hello there")]
    assert api("get", f"{base}/versions/9/").status_code == 404


def test_provider_secrets_are_write_only(api, team, fake_llm):
    created = api(
        "post",
        "/api/v1/providers/",
        {
            "type": "openai",
            "name": "Main",
            "config": {"base_url": fake_llm.openai_base_url},
            "secrets": {"api_key": "sk-test-secret-value-1234"},
        },
    )

    assert created.status_code == 201, created.json()
    listed = api("get", "/api/v1/providers/").content.decode()
    assert "sk-test-secret-value-1234" not in created.content.decode() + listed
    assert created.json()["secrets"]["api_key"].endswith("1234")
    renamed = api("patch", f"/api/v1/providers/{created.json()['id']}/", {"name": "Primary"})
    assert renamed.json()["name"] == "Primary"


def test_idempotency_key_replays_the_first_answer(api, fake_provider):
    key = str(uuid.uuid4())
    body = {"name": "Once"}

    first = api("post", "/api/v1/chatbots/", body, HTTP_IDEMPOTENCY_KEY=key)
    again = api("post", "/api/v1/chatbots/", body, HTTP_IDEMPOTENCY_KEY=key)
    other = api("post", "/api/v1/chatbots/", {"name": "Twice"}, HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["code"] == "request.idempotency_mismatch"
    assert len(api("get", "/api/v1/chatbots/").json()["results"]) == 1


def test_cursor_pagination_and_ordering(api, fake_provider):
    for name in ("b", "a", "c"):
        api("post", "/api/v1/chatbots/", {"name": name})

    page = api("get", "/api/v1/chatbots/?ordering=name&page_size=2").json()
    rest = api("get", page["next"].split("testserver", 1)[-1].split(".localhost", 1)[-1]).json()

    assert [b["name"] for b in page["results"]] == ["a", "b"]
    assert [b["name"] for b in rest["results"]] == ["c"]
    assert rest["next"] is None
    bad = api("get", "/api/v1/chatbots/?ordering=secret")
    assert bad.status_code == 400
    assert bad.json()["code"] == "request.invalid_ordering"


def test_throttling_headers_and_429(api, chatbot, rate_limits_on, settings):
    settings.APP_RATE_LIMITS = {**settings.APP_RATE_LIMITS, "api.key": "2/60"}

    ok = api("get", "/api/v1/chatbots/")
    api("get", "/api/v1/chatbots/")
    refused = api("get", "/api/v1/chatbots/")

    assert ok["X-RateLimit-Limit"] == "2"
    assert ok["X-RateLimit-Remaining"] == "1"
    assert refused.status_code == 429
    assert refused.json()["code"] == "request.throttled"
    assert int(refused["Retry-After"]) >= 1


def test_sessions_list_get_state_tags_end(api, chatbot, owner):
    from tenant_apps.conversations import services
    from tenant_apps.conversations.enums import Platform
    from tests.factories.conversations import say

    participant = services.participant_get_or_create(platform=Platform.API, identifier="p-1")
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.API)
    say(session, "hello there")
    url = f"/api/v1/sessions/{session.external_id}/"

    listed = api("get", f"/api/v1/sessions/?chatbot_id={chatbot.pk}&participant=p-1").json()["results"]
    detail = api("get", url).json()
    state = api("patch", f"{url}state/", {"state": {"step": 2}}).json()
    tags = api("post", f"{url}tags/", {"tags": ["vip"]}).json()
    ended = api("post", f"{url}end/").json()

    assert [s["id"] for s in listed] == [str(session.external_id)]
    assert [m["content"] for m in detail["messages"]] == ["hello there"]
    assert state == {"state": {"step": 2}}
    assert tags["tags"] == ["vip"]
    assert ended["status"] == "ended"
    assert api("get", "/api/v1/sessions/?status=bogus").status_code == 400


def test_participant_data_patch_and_get(api, chatbot):
    from tenant_apps.conversations import services
    from tenant_apps.conversations.enums import Platform

    participant = services.participant_get_or_create(platform=Platform.API, identifier="p-2")
    url = f"/api/v1/participants/{participant.pk}/data/"

    api("patch", url, {"chatbot_id": chatbot.pk, "data": {"name": "Ada", "tier": "gold"}})
    api("patch", url, {"chatbot_id": chatbot.pk, "data": {"tier": None}})

    assert api("get", url).json()["results"] == [{"chatbot_id": chatbot.pk, "data": {"name": "Ada"}}]
    assert api("get", "/api/v1/participants/?identifier=p-2").json()["results"][0]["id"] == participant.pk


def test_bot_message_needs_a_published_version_then_is_stored(api, chatbot):
    url = f"/api/v1/chatbots/{chatbot.pk}/messages/"
    body = {"identifier": "+15550001", "platform": "api", "message": "Time for your check-in"}

    refused = api("post", url, body)
    api("post", f"/api/v1/chatbots/{chatbot.pk}/versions/", {})
    sent = api("post", url, body)

    assert refused.status_code == 409
    assert refused.json()["code"] == "events.no_published_version"
    assert sent.status_code == 201
    session = api("get", f"/api/v1/sessions/{sent.json()['session_id']}/").json()
    assert [(m["role"], m["content"]) for m in session["messages"]] == [("assistant", "Time for your check-in")]


def test_options_lists_setting_values(api, chatbot, fake_provider):
    options = api("get", f"/api/v1/chatbots/{chatbot.pk}/options/").json()

    assert options["llm_provider_id"][0]["id"] == fake_provider.pk
    assert "llm" in options["pipeline_node_types"]


def test_another_teams_object_is_404(api, team_b):
    from tenant_apps.chatbots.services import chatbot_create

    with tenant_context(team_b):
        other = chatbot_create(name="Theirs")

    assert api("get", f"/api/v1/chatbots/{other.pk}/").status_code == 404


def test_widget_channel_crud_with_embed_key_domains_and_auth_level(api, chatbot):
    base = f"/api/v1/chatbots/{chatbot.pk}/channels/"

    created = api("post", base, {"kind": "widget", "name": "Site", "config": {"allowed_domains": ["example.com"]}})
    channel = created.json()
    changed = api("patch", f"{base}{channel['id']}/", {"config": {"auth_level": 0}, "enabled": False})
    rotated = api("post", f"{base}{channel['id']}/rotate-key/")
    bad = api("post", base, {"kind": "widget", "name": "Bad", "config": {"allowed_domains": ["not a domain!"]}})

    assert created.status_code == 201
    assert channel["config"] == {"allowed_domains": ["example.com"], "auth_level": 1}
    assert channel["embed_key"]
    assert changed.json()["config"]["auth_level"] == 0
    assert changed.json()["enabled"] is False
    assert rotated.json()["embed_key"] != channel["embed_key"]
    assert bad.status_code == 409  # the channels service's own error (the Channels tab shows the same)
    assert bad.json()["code"] == "channel.invalid_domain"
    assert [c["id"] for c in api("get", base).json()["results"]] == [channel["id"]]
    assert api("delete", f"{base}{channel['id']}/").status_code == 204

"""The cross-team probe: every team URL, requested by someone who is not a member, answers 404.

It walks the tenant URL conf, fills each route's parameters with plausible values and asks as (a) a member of
another team and (b) a viewer-less anonymous visitor. New URLs are covered automatically: member pages and the
team APIs (``api_access`` views on ``TeamApiView``, authorized by ``tenants.permissions``).
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.access import API, CHANNEL, MEMBERS, view_policy
from tenants.enums import Role

SAMPLE = {
    "int": "1",
    "slug": "sample",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "str": "sample",
    "path": "sample",
}


def member_routes(resolver=None, prefix="", access=MEMBERS):
    resolver = resolver or get_resolver("config.urls_tenant")
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from member_routes(entry, prefix + str(entry.pattern), access)
        elif isinstance(entry, URLPattern) and view_policy(entry.callback)[0] == access:
            yield prefix + str(entry.pattern)


def concrete(route, values=None):
    def fill(match):
        if values and match.group(2) in values:
            return values[match.group(2)]
        return SAMPLE.get(match.group(1) or "str", "sample")

    path = re.sub(r"<(?:(\w+):)?(\w+)>", fill, route)
    path = path.lstrip("^").rstrip("$").replace("\\", "")
    return "/" + path


ROUTES = sorted({concrete(route) for route in member_routes()})
API_ROUTES = sorted({concrete(route) for route in member_routes(access=API)})


@pytest.mark.parametrize("path", ROUTES)
def test_member_route_answers_404_to_another_teams_member(path, team_a, team_b, make_member, client_for):
    outsider = make_member(team_b, Role.OWNER)
    client = client_for(team_a, outsider)

    for method in (client.get, client.post):
        assert method(path).status_code == 404, f"{method.__name__.upper()} {path}"


@pytest.mark.parametrize("path", ROUTES)
def test_member_route_sends_anonymous_visitor_to_login(path, team_a, client_for):
    response = client_for(team_a).get(path)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_api_routes_are_found():
    assert "/api/v1/me/" in API_ROUTES


@pytest.mark.parametrize("path", API_ROUTES)
def test_api_route_answers_404_to_another_teams_member(path, team_a, team_b, make_member, client_for):
    outsider = make_member(team_b, Role.OWNER)
    client = client_for(team_a, outsider)

    for method in (client.get, client.post):
        assert method(path).status_code == 404, f"{method.__name__.upper()} {path}"


@pytest.mark.parametrize("path", API_ROUTES)
def test_api_route_refuses_anonymous_caller(path, team_a, client_for):
    assert client_for(team_a).get(path).status_code == 401


# Channel endpoints (``channel_access``: the widget chat API, custom API channels) authenticate callers themselves.
# Each is asked on team A's host about team B's real objects (its widget session and task, its channel), with team
# B's own key and token where the route takes one: never found.
CHANNEL_RAW = sorted(set(member_routes(access=CHANNEL)))


def test_channel_routes_are_found():
    assert "api/chat/<uuid:session_id>/message/" in CHANNEL_RAW


@pytest.fixture
def other_teams_channels(team_b, fake_llm, catalog):
    """Team B's published chatbot with a widget channel (any site, key level) and a session on it."""
    import json

    from tenant_apps.channels import services
    from tenant_apps.channels.enums import ChannelKind
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenants.context import tenant_context
    from tests.factories.providers import llm_provider

    with tenant_context(team_b):
        provider = llm_provider(base_url=fake_llm.openai_base_url, name="Fake LLM")
        provider.custom_models.create(name="fake-model")
        chatbot = chatbot_create(name="B bot")
        version_create(chatbot=chatbot, actor=None, publish=True)
        chatbot.refresh_from_db()
        widget = services.channel_create(
            chatbot=chatbot, kind=ChannelKind.WIDGET, name="B widget", config={"allowed_domains": ["*"]}
        )
        custom = services.channel_create(chatbot=chatbot, kind=ChannelKind.CUSTOM_API, name="B api")
    from tests.conftest import TeamClient

    client_b = TeamClient(f"{team_b.slug}.localhost")
    headers = {"HTTP_X_EMBED_KEY": widget.embed_key, "HTTP_ORIGIN": "https://example.com"}
    body = json.dumps({"chatbot_id": str(chatbot.public_id), "participant_remote_id": "b-visitor"})
    session_id = client_b.post("/api/chat/start/", body, content_type="application/json", **headers).json()[
        "session_id"
    ]
    sent = client_b.post(
        f"/api/chat/{session_id}/message/", json.dumps({"message": "hi"}), content_type="application/json", **headers
    )
    return {
        "values": {
            "session_id": session_id,
            "task_id": sent.json()["task_id"],
            "channel_public_id": str(custom.public_id),
        },
        "headers": headers,
        "start_body": body,
    }


@pytest.mark.parametrize("route", CHANNEL_RAW)
def test_channel_route_never_reaches_another_teams_objects(route, team_a, other_teams_channels, client_for):
    path = concrete(route, other_teams_channels["values"])
    client = client_for(team_a)
    headers = other_teams_channels["headers"]
    body = other_teams_channels["start_body"]

    answers = [
        client.get(path, **headers).status_code,
        client.post(path, body, content_type="application/json", **headers).status_code,
    ]

    expected = {404, 405} if "<" in route else {401, 403, 405}
    assert set(answers) <= expected, f"{path}: {answers}"
    assert 404 in answers or "<" not in route

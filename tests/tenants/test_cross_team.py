"""The cross-team probe: every team URL, requested by someone who is not a member, answers 404.

It walks the tenant URL conf, fills each route's parameters with plausible values and asks as (a) a member of
another team and (b) a viewer-less anonymous visitor. New URLs are covered automatically: member pages and the
team APIs (``api_access`` views on ``TeamApiView``, authorized by ``tenants.permissions``).
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.access import API, MEMBERS, view_policy
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


def concrete(route):
    path = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "sample"), route)
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

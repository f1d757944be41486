"""Every page of both URL confs, opened by a member with real objects behind its URL parameters: none answers 500,
none shows template syntax (``{#``, ``{%``, ``{{``) to people, and the sidebar highlights the section shown.

New URLs are covered automatically; a new URL parameter needs a value in ``_objects`` (the test says which).
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver

from shared_apps.catalog.models import LlmModel
from tenant_apps.channels import services as channel_services
from tenant_apps.chatbots.services import chatbot_update, consent_form_save, version_create
from tenant_apps.conversations import ingress, turns
from tenant_apps.conversations import services as conversation_services
from tenant_apps.conversations.enums import Platform
from tenant_apps.conversations.models import ChatFile, SessionExport, Trace
from tenants.context import tenant_context
from tenants.enums import Role
from tests.factories.events import events_seeds

LEAKS = ("{#", "#}", "{%", "%}", "{{", "}}")
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")

# Which sidebar entry a team page belongs to, by URL name prefix (first match wins); others have no section.
SECTIONS = (
    ("team_home", "Home"),
    ("chatbots:consent_form", "Consent forms"),
    ("chatbots:", "Chatbots"),
    ("conversations:chat", "Chatbots"),
    ("conversations:public", None),
    ("conversations:", "Sessions"),
    ("providers:", "Providers"),
    ("team:member", "Members"),
    ("team:invitation", "Members"),
    ("team:", "Team settings"),
    ("api:", "Team settings"),
    ("audit:", "Team settings"),
)


def routes(urlconf: str) -> list[tuple[str, str]]:
    """(route, URL name) of every pattern, namespaces included."""

    def walk(resolver: Any, prefix: str, namespace: str) -> Any:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
                yield from walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), f"{namespace}{entry.name or ''}"

    return sorted(set(walk(get_resolver(urlconf), "", "")))


def visible_text(content: str) -> str:
    """What a person reads: no scripts, styles or tags, entities decoded."""
    content = re.sub(r"<(script|style)\b.*?</\1>", " ", content, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", content))


def fill(route: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(2)
        assert name in values, f"give the URL parameter <{name}> a real object in _objects() ({route})"
        return values[name]

    return "/" + _PARAM.sub(value, route)


def section_of(name: str) -> str | None:
    return next((section for prefix, section in SECTIONS if name.startswith(prefix)), None)


@pytest.fixture
def objects(team, owner, fake_provider, chatbot, fake_llm, settings, tmp_path) -> dict[str, str]:
    settings.MEDIA_ROOT = str(tmp_path)
    with tenant_context(team):
        form = consent_form_save(form=None, name="Terms", consent_text="Agree?", confirmation_text="1", actor=owner)
        chatbot_update(chatbot=chatbot, actor=owner, is_public=True)
        version = version_create(chatbot=chatbot, actor=owner, description="First", publish=True)
        participant = conversation_services.participant_for_member(user=owner)
        session = conversation_services.session_start(
            chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB, started_by=owner
        )
        message = ingress.message_receive(
            session=session, inbound=ingress.Inbound(text="Hello {{ name }} {% if %}")
        ).message
        reply = turns.turn_process(message_id=message.pk)
        assert reply is not None
        tag = conversation_services.message_tag_add(message=reply, name="good", user=owner)
        chat_file = ChatFile.objects.create(session=session, name="notes.txt", content_type="text/plain", size=5)
        chat_file.file.save("notes.txt", ContentFile(b"hello"))
        export = SessionExport.objects.create(filters={})
        trace = Trace.objects.get(message=message)
        model = fake_provider.custom_models.first()
        widget = channel_services.channel_create(chatbot=chatbot, kind="widget", name="Site widget")
        custom = channel_services.channel_create(chatbot=chatbot, kind="custom_api", name="Backend")
        events = events_seeds(chatbot=chatbot, participant=participant, owner=owner)
    return {
        **events,
        "channel_id": str(widget.pk),
        "channel_public_id": str(custom.public_id),
        "task_id": str(message.pk),
        "chatbot_id": str(chatbot.pk),
        "number": str(version.number),
        "form_id": str(form.pk),
        "session_id": str(session.external_id),
        "participant_id": str(session.participant_id),
        "message_id": str(reply.pk),
        "tag_id": str(tag.pk),
        "file_id": str(chat_file.pk),
        "trace_id": str(trace.pk),
        "public_id": str(chatbot.public_id),
        "session_export_id": str(export.pk),
        "kind": "llm",
        "pk": str(fake_provider.pk),
        "model_pk": str(model.pk),
        "pipeline_id": str(chatbot.pipeline_id),
    }


def _extra_team_objects(team: Any, owner: Any, objects: dict[str, str]) -> dict[str, str]:
    from tenant_apps.api.services import api_key_create
    from tenants.models import Membership, TeamExport
    from tenants.services.invitations import invitation_create

    with tenant_context(team):
        key, _secret = api_key_create(name="CI", read_only=True, created_by=owner)
    membership = Membership.objects.get(user=owner, team=team)
    invitation = invitation_create(team=team, email="new@example.com", role=Role.EDITOR, invited_by=owner)
    export = TeamExport.objects.create(team=team, requested_by=owner)
    return {
        **objects,
        "key_id": str(key.pk),
        "membership_id": str(membership.pk),
        "invitation_id": str(invitation.pk),
        "export_id": str(export.pk),
    }


def test_every_team_page_renders_for_a_member_without_template_syntax(team, owner, client_for, objects):
    values = _extra_team_objects(team, owner, objects)
    client = client_for(team, owner)
    checked = highlighted = 0

    for route, name in routes("config.urls_tenant"):
        path = fill(route, values)
        response = client.get(path)
        assert response.status_code < 500, f"GET {path} ({name}) answered {response.status_code}"
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        checked += 1
        text = visible_text(response.content.decode())
        text = text.replace("Hello {{ name }} {% if %}", "")  # the participant's own words, shown as typed
        leaks = [token for token in LEAKS if token in text]
        assert not leaks, f"GET {path} ({name}) shows template syntax {leaks}"
        expected = section_of(name)
        active = re.findall(
            r'class="[^"]*menu-active[^"]*"[^>]*>.*?</svg>\s*([^<]+)</a>', response.content.decode(), re.S
        )
        if expected and "drawer" in response.content.decode():
            assert [label.strip() for label in active] == [expected], f"{path} ({name}) highlights {active}"
            highlighted += 1

    assert checked > 25
    assert highlighted > 20


def test_every_apex_page_renders_for_a_logged_in_user_without_template_syntax(apex_client, team_a, make_member):
    apex_client.force_login(make_member(team_a))
    values = {
        "slug": team_a.slug,
        "token": "not-a-real-token",
        "key": "not-a-real-key",
        "team_id": str(team_a.pk),
        "visit_id": "1",
        "model_id": str(LlmModel.objects.first().pk),
    }
    checked = 0

    for route, name in routes("config.urls_public"):
        if route.startswith("django-admin/") or "(?P<" in route:
            continue  # Django's own admin; regex routes (allauth) are reached through their named pages
        path = fill(route, values)
        response = apex_client.get(path)
        assert response.status_code < 500, f"GET {path} ({name}) answered {response.status_code}"
        if response.status_code == 200 and "text/html" in response.get("Content-Type", ""):
            checked += 1
            leaks = [token for token in LEAKS if token in visible_text(response.content.decode())]
            assert not leaks, f"GET {path} ({name}) shows template syntax {leaks}"

    assert checked > 5


@pytest.mark.parametrize(
    "host",
    [pytest.param("nope.localhost", id="unknown-team"), pytest.param("alpha.localhost", id="team")],
)
def test_error_pages_are_branded_and_load_their_css(host, team_a, client):
    page = client.get("/no-such-page/", HTTP_HOST=host)
    css_path = re.search(r'href="(/static/build/app\.css[^"]*)"', page.content.decode())

    assert page.status_code in (302, 404)
    if page.status_code == 404:
        assert css_path, "the error page links the stylesheet"
        assert client.get(css_path.group(1), HTTP_HOST=host).status_code == 200
        assert client.get("/favicon.ico", HTTP_HOST=host).status_code == 200


@pytest.mark.parametrize("urlconf", ["config.urls_tenant", "config.urls_public"])
def test_server_error_page_is_branded_without_touching_the_request(urlconf, rf, db, django_assert_num_queries):
    from django.urls import get_resolver

    handler = get_resolver(urlconf).resolve_error_handler(500)

    with django_assert_num_queries(0):
        response = handler(rf.get("/"))

    content = response.content.decode()
    assert response.status_code == 500
    assert "/static/build/app.css" in content
    assert "Something went wrong" in content
    assert "Go to Chat Studio" in content

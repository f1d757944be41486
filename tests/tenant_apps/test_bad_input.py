"""Bad input never gives a 500: the generated probe.

It walks both URL confs (the apex's and the team hosts'), fills every route's parameters with real objects of a
seeded team (so requests reach the views' own code, not a 404 on a made-up id), and sends each route NUL and
deeply nested JSON variants: a query string, form fields, multipart fields, JSON bodies (POST and PUT), a header
and, where a route takes text, a path segment. It does so as a member of the team and as an anonymous visitor
(who has a public-link session of their own). Any 5xx fails it. Field names come from every form and serializer
the project loads and from every ``request.POST/GET/data`` read in view source, so endpoints added later are
probed without touching this file; a new URL parameter name needs a seeded value in ``seeds()`` (a test says so).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import re
import sys
from collections.abc import Iterator
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django import forms
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from rest_framework import serializers

from shared_apps.core import strict_json
from tests.factories.events import events_seeds

TENANT, PUBLIC = "config.urls_tenant", "config.urls_public"
NUL = "a\x00b"
DEEP_LIST = "[" * 5000 + "]" * 5000  # deep enough for RecursionError in Python's parser
DEEP_DICT = '{"a":' * 70 + "1" + "}" * 70  # just over the limit, in every field
SAMPLES = {
    "int": "1",
    "slug": "sample",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "str": "sample",
    "path": "sample",
}
OUR_CODE = ("tenants.", "shared_apps.", "tenant_apps.", "config.")


# --- the routes -------------------------------------------------------------------------------------------------


def routes(urlconf: str) -> Iterator[tuple[str, Any, dict[str, str]]]:
    """``(route, view, {parameter: converter or regex})`` for every URL of ``urlconf``."""

    def walk(resolver: URLResolver, prefix: str, params: dict[str, str]) -> Iterator[tuple[str, Any, dict[str, str]]]:
        for entry in resolver.url_patterns:
            found = {**params, **_parameters(entry.pattern)}
            if isinstance(entry, URLResolver):
                yield from walk(entry, prefix + str(entry.pattern), found)
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern), entry.callback, found

    yield from walk(get_resolver(urlconf), "", {})


def _parameters(pattern: Any) -> dict[str, str]:
    converters = getattr(pattern, "converters", {})
    if converters:
        return {
            name: type(converter).__name__.removesuffix("Converter").lower() for name, converter in converters.items()
        }
    return dict(_regex_groups(str(pattern)))


def _regex_groups(regex: str) -> Iterator[tuple[str, str]]:
    """Named groups of a regex route and each group's own regex (balanced parentheses)."""
    for match in re.finditer(r"\(\?P<(\w+)>", regex):
        depth, index = 1, match.end()
        while depth and index < len(regex):
            depth += {"(": 1, ")": -1}.get(regex[index], 0) if regex[index - 1] != "\\" else 0
            index += 1
        yield match.group(1), regex[match.end() : index - 1]


def concrete(route: str, params: dict[str, str], values: dict[str, str]) -> str:
    """The route with each parameter replaced by its seeded value (or a sample its converter/regex accepts)."""

    def value_for(name: str) -> str:
        kind = params[name]
        candidates = [values[name]] if name in values else []
        candidates += [SAMPLES[kind]] if kind in SAMPLES else ["1", "sample", "a", *kind.split("|")]
        if kind in SAMPLES:
            return candidates[0]
        return next((c for c in candidates if re.fullmatch(kind, c)), "sample")

    path = route
    for name, regex in list(_regex_groups(route)):
        path = path.replace(f"(?P<{name}>{regex})", value_for(name), 1)
    path = re.sub(r"(?<!\?P)<(?:\w+:)?(\w+)>", lambda m: value_for(m.group(1)), path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


# --- what to send -----------------------------------------------------------------------------------------------


def field_names() -> list[str]:
    """Every field a form or serializer declares, and every name a view reads from request.POST/GET/data."""
    for urlconf in (TENANT, PUBLIC):
        get_resolver(urlconf).url_patterns  # noqa: B018 (imports every view module, with its forms)
    names: set[str] = set()
    for form in _subclasses(forms.BaseForm):
        names.update(getattr(form, "base_fields", {}))
    for serializer in _subclasses(serializers.Serializer):
        names.update(getattr(serializer, "_declared_fields", {}))
    reads = re.compile(r"""(?:POST|GET|data|query_params|FILES)(?:\.get|\.getlist)?[\[(]\s*["'](\w+)["']""")
    for name, module in list(sys.modules.items()):
        if name.startswith(OUR_CODE) and {"views", "api", "forms"} & set(name.split(".")[1:]):
            try:
                names.update(reads.findall(inspect.getsource(module)))
            except (OSError, TypeError):
                continue
    return sorted(names)


def _subclasses(base: type) -> Iterator[type]:
    for cls in base.__subclasses__():
        yield cls
        yield from _subclasses(cls)


def variants(
    view: Any, path: str, params: dict[str, str], route: str, values: dict[str, str]
) -> Iterator[tuple[str, dict]]:
    """``(label, request)`` for each bad request to send to ``path``."""
    fields = FIELDS
    yield "GET ?NUL", {"method": "GET", "path": path, "data": dict.fromkeys(fields, NUL)}
    yield "GET header NUL", {"method": "GET", "path": path, "HTTP_X_PROBE": NUL, "HTTP_AUTHORIZATION": f"Bearer {NUL}"}
    yield "POST form NUL", {"method": "POST", "path": path, "data": dict.fromkeys(fields, NUL)}
    yield "POST multipart NUL", {"method": "POST", "path": path, "multipart": dict.fromkeys(fields, NUL)}
    view_class = getattr(view, "cls", None) or getattr(view, "view_class", None)
    for method in ("POST", "PUT") if any(hasattr(view_class, name) for name in ("put", "patch")) else ("POST",):
        yield f"{method} JSON NUL", _json(method, path, dict.fromkeys(fields, NUL))
        yield f"{method} JSON deep list", _json(method, path, None, raw=DEEP_LIST)
        yield f"{method} JSON deep values", _json(method, path, None, raw=_deep_fields(fields))
    text_params = [name for name, kind in params.items() if kind in ("str", "path", "slug") or kind not in SAMPLES]
    if text_params:
        nul_path = concrete(route, params, {**values, **dict.fromkeys(text_params, "a%00b")})
        yield "GET NUL in path", {"method": "GET", "path": nul_path}
        yield "POST NUL in path", {"method": "POST", "path": nul_path}


def _json(method: str, path: str, body: Any, raw: str | None = None) -> dict:
    return {
        "method": method,
        "path": path,
        "data": raw if raw is not None else json.dumps(body),
        "content_type": "application/json",
    }


def _deep_fields(fields: list[str]) -> str:
    return "{" + ",".join(f'"{name}": {DEEP_DICT}' for name in fields) + "}"


# --- the seeded team --------------------------------------------------------------------------------------------


@pytest.fixture
def seeds(team, owner, chatbot, fake_provider, make_member):
    """A member's view of team A with one of each object, by URL parameter name."""
    from shared_apps.catalog.models import LlmModel
    from tenant_apps.api.services import api_key_create
    from tenant_apps.chatbots.models import ConsentForm
    from tenant_apps.chatbots.services import chatbot_update, version_create
    from tenant_apps.conversations import ingress, services, turns
    from tenant_apps.conversations.enums import Platform
    from tenant_apps.conversations.models import ChatFile, SessionExport
    from tenants.enums import Role
    from tenants.models import Invitation, Membership, TeamExport

    chatbot_update(chatbot=chatbot, actor=owner, is_public=True)
    version = version_create(chatbot=chatbot, actor=owner)
    chatbot.refresh_from_db()
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    received = ingress.message_receive(session=session, inbound=ingress.Inbound(text="hello"))
    reply = turns.turn_process(message_id=received.message.pk)
    chat_file = ChatFile(session=session, name="a.txt", content_type="text/plain", size=2)
    chat_file.file.save("a.txt", ContentFile(b"hi"))
    tag = services.message_tag_add(message=reply.reply_to, name="probe", user=owner)
    other = make_member(team, Role.EDITOR)
    invitation = Invitation.objects.create(
        team=team, email="invitee@example.com", token_hash="0" * 64, invited_by=owner, expires_at=timezone.now()
    )
    key, _raw = api_key_create(name="probe", read_only=False, created_by=owner)
    from tenant_apps.channels import services as channel_services

    widget = channel_services.channel_create(chatbot=chatbot, kind="widget", name="probe widget")
    custom = channel_services.channel_create(chatbot=chatbot, kind="custom_api", name="probe api")
    events = events_seeds(chatbot=chatbot, participant=participant, owner=owner)
    return {
        **events,
        "chatbot_id": str(chatbot.pk),
        "number": str(version.number),
        "pipeline_id": str(chatbot.pipeline_id),
        "public_id": str(chatbot.public_id),
        "session_id": str(session.external_id),
        "participant_id": str(session.participant_id),
        "message_id": str(reply.reply_to_id),
        "trace_id": str(reply.reply_to.trace.pk),
        "file_id": str(chat_file.pk),
        "tag_id": str(tag.pk),
        "session_export_id": str(SessionExport.objects.create(created_by=owner).pk),
        "form_id": str(ConsentForm.objects.create(name="Consent", consent_text="Agree?").pk),
        "kind": "llm",
        "pk": str(fake_provider.pk),
        "model_pk": str(fake_provider.custom_models.get().pk),
        "key_id": str(key.pk),
        "membership_id": str(Membership.objects.get(team=team, user=other).pk),
        "invitation_id": str(invitation.pk),
        "export_id": str(TeamExport.objects.create(team=team, requested_by=owner).pk),
        "slug": team.slug,
        "token": "sample-token",
        "task_id": str(received.message.pk),
        "channel_id": str(widget.pk),
        "channel_public_id": str(custom.public_id),
        "team_id": str(team.pk),
        "visit_id": "1",
        "model_id": str(LlmModel.objects.first().pk),
    }


FIELDS: list[str] = []


@pytest.fixture(autouse=True)
def _fields() -> None:
    if not FIELDS:
        FIELDS.extend(field_names())


def probe(client_factory, urlconf: str, values: dict[str, str]) -> list[str]:
    """Send every variant to every route; each request's writes are rolled back, so a request that archives the
    chatbot or ends the session (before the fix, NUL or not) cannot hide the next route's behaviour."""
    failures = []
    for route, view, params in routes(urlconf):
        path = concrete(route, params, values)
        for label, request in variants(view, path, params, route, values):
            client = client_factory()
            with contextlib.suppress(_UndoError), transaction.atomic():
                status = _send(client, request)
                raise _UndoError
            if status >= 500:
                failures.append(f"{label} {path} ({getattr(view, '__name__', view)}) -> {status}")
    return failures


class _UndoError(Exception):
    pass


def _send(client, request: dict) -> int:
    request = dict(request)
    multipart = request.pop("multipart", None)
    if multipart is not None:
        return client.post(request["path"], multipart).status_code  # the test client encodes multipart
    method, target, data = request.pop("method"), request.pop("path"), request.pop("data", None)
    if method == "GET":
        return client.get(target, data, **request).status_code
    body = data if isinstance(data, str) else _urlencode(data or {})
    content_type = request.pop("content_type", "application/x-www-form-urlencoded")
    return client.generic(method, target, body, content_type=content_type, **request).status_code


def _urlencode(data: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(data)


def _quiet_client(host: str, user=None):
    """A client that answers a crash with its 500 (instead of raising it into the test)."""
    from tests.conftest import TeamClient

    client = TeamClient(host, raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _same_cookies(client):
    """``client`` with the cookies it has now, before every request: a logout or a new visitor session in one
    request (rolled back in the database) must not change who makes the next."""
    cookies = SimpleCookie(client.cookies.output(header="", sep=";"))

    def restore():
        client.cookies = SimpleCookie(cookies.output(header="", sep=";"))
        return client

    return restore


# --- the probes -------------------------------------------------------------------------------------------------


def test_every_route_parameter_of_our_views_has_a_seeded_value(seeds):
    missing = {
        f"{name} ({route})"
        for urlconf in (TENANT, PUBLIC)
        for route, view, params in routes(urlconf)
        if getattr(view, "__module__", "").startswith(OUR_CODE)
        for name in params
        if name not in seeds
    }

    assert not missing, "add a value for these URL parameters to seeds() in this file"


def test_every_route_is_filled_to_a_path_that_reaches_its_view(seeds):
    unreached = []
    for urlconf in (TENANT, PUBLIC):
        seen = set()
        for route, view, params in routes(urlconf):
            path = concrete(route, params, seeds)
            try:
                found = resolve(path, urlconf).func
            except Exception:  # any failure to resolve is what this test reports
                found = None
            if found is not view and path not in seen:  # (a later route shadowed by an earlier one is fine)
                unreached.append(f"{urlconf}: {route} -> {path}")
            seen.add(path)

    assert not unreached


def test_field_names_include_forms_serializers_and_direct_reads():
    assert {"message", "email", "graph", "name"} <= set(FIELDS)


def test_team_routes_never_answer_5xx_to_nul_or_deep_json_from_a_member(team_a, owner, seeds, host_for):
    failures = probe(_same_cookies(_quiet_client(host_for(team_a), owner)), TENANT, seeds)

    assert not failures, "\n".join(failures)


def test_team_routes_never_answer_5xx_to_nul_or_deep_json_from_a_visitor(team_a, seeds, host_for):
    from tenant_apps.conversations.models import ChatSession
    from tests.factories.conversations import public_first_send

    visitor = _quiet_client(host_for(team_a))
    public_first_send(visitor, seeds["public_id"], "hi")  # a public-link session of the visitor's own
    session = ChatSession.objects.order_by("-created_at").first()
    own = {**seeds, "session_id": str(session.external_id), "message_id": str(session.messages.first().pk)}

    failures = probe(_same_cookies(visitor), TENANT, own)

    assert not failures, "\n".join(failures)


def test_apex_routes_never_answer_5xx_to_nul_or_deep_json(team_a, owner, seeds):
    member = probe(_same_cookies(_quiet_client("localhost", owner)), PUBLIC, seeds)
    anonymous = probe(_same_cookies(_quiet_client("localhost")), PUBLIC, seeds)

    assert not member + anonymous, "\n".join(member + anonymous)


def test_apex_routes_never_answer_5xx_to_nul_or_deep_json_from_staff(team_a, seeds, make_user):
    """The staff console (staff with two-factor) gets the same probe as every other apex page."""
    from tests.shared_apps.console.conftest import mfa_enable, mfa_session

    staff = make_user(is_staff=True)
    mfa_enable(staff)
    client = _quiet_client("localhost", staff)
    mfa_session(client, staff)

    failures = probe(_same_cookies(client), PUBLIC, seeds)

    assert not failures, "\n".join(failures)


def test_nul_and_deep_json_get_a_clear_400(team_a, seeds, host_for):
    client = _quiet_client(host_for(team_a))
    public = f"/c/{seeds['public_id']}/"

    form = client.post(public, {"message": NUL})
    query = client.get(public, {"q": NUL})
    deep = client.generic("POST", public, DEEP_LIST, content_type="application/json")
    nul_json = client.generic("POST", public, json.dumps({"m": NUL}), content_type="application/json")

    assert (form.status_code, query.status_code) == (400, 400)
    assert b"NUL character" in form.content
    assert (deep.status_code, deep.json()["code"]) == (400, "request.json_too_deep")
    assert (nul_json.status_code, nul_json.json()["code"]) == (400, "request.nul_character")


def test_ordinary_json_with_escaped_backslashes_is_not_refused(team_a, owner, seeds, host_for):
    client = _quiet_client(host_for(team_a), owner)
    pipeline = client.get(f"/pipelines/{seeds['pipeline_id']}/").json()
    graph = pipeline["graph"]
    graph["nodes"][1]["params"]["prompt"] = "Write \\u0000 literally, and [[[[ {{{{ in text."

    saved = client.put(
        f"/pipelines/{seeds['pipeline_id']}/",
        data=json.dumps({"graph": graph, "base_revision": pipeline["edit_revision"]}),
        content_type="application/json",
    )

    assert saved.status_code == 200, saved.content
    assert strict_json.nesting_depth(saved.content) <= strict_json.MAX_DEPTH

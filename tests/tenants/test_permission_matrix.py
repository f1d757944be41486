"""docs/permissions.md is the permission matrix; these tests hold the code to it.

1. Every team URL that needs membership is in the table, declared with the role the table gives.
2. Every row is requested as owner, admin, editor, viewer (and with full and read-only API keys): allowed roles
   get past the access check, the others get 404 (pages) or are refused (keys).
"""

import re
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from tenants.access import API, MEMBERS, view_policy
from tenants.enums import Role

DOC = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
ROLES = [Role.OWNER, Role.ADMIN, Role.EDITOR, Role.VIEWER]
ROW = re.compile(r"^\|([^|]*)\|([^|]*)\| `([\w:]+)` \| (GET|POST|PUT|PATCH|DELETE) \|(.*)\|\s*$")


def matrix_rows():
    rows = []
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            marks = [cell.strip() == "✓" for cell in match.group(5).split("|")]
            rows.append({"name": match.group(3), "method": match.group(4), "roles": marks[:4], "keys": marks[4:6]})
    return rows


ROWS = matrix_rows()


def min_role(marks):
    allowed = [role for role, ok in zip(ROLES, marks, strict=True) if ok]
    return allowed[-1]


def tenant_views(resolver=None, namespace=""):
    resolver = resolver or get_resolver("config.urls_tenant")
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from tenant_views(entry, inner)
        elif isinstance(entry, URLPattern):
            yield namespace + (entry.name or ""), entry.callback


def test_matrix_parses():
    assert len(ROWS) >= 20
    assert all(any(row["roles"]) for row in ROWS)


def test_every_member_and_api_url_is_in_the_matrix():
    documented = {row["name"] for row in ROWS}
    needing_access = {name for name, view in tenant_views() if view_policy(view)[0] in (MEMBERS, API)}

    assert needing_access - documented == set(), "add these URLs to docs/permissions.md"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['name']}-{r['method']}")
def test_declared_role_matches_the_matrix(row):
    views = dict(tenant_views())

    _access, declared = view_policy(views[row["name"]], row["method"])

    assert declared == min_role(row["roles"])


@pytest.fixture
def objects(team_a, make_member, settings, tmp_path):
    """One of everything a team URL can point at, in team A, plus a team owner who is not the requester."""
    from tenant_apps.api.services import api_key_create
    from tenant_apps.providers.models import LlmProvider
    from tenants.context import tenant_context
    from tenants.enums import ExportStatus
    from tenants.models import Membership, TeamExport
    from tenants.services.invitations import invitation_create

    settings.TEAM_EXPORT_ROOT = str(tmp_path)
    owner = make_member(team_a, Role.OWNER, email="the-owner@example.com")
    target = make_member(team_a, Role.VIEWER, email="target@example.com")
    archive = tmp_path / "t_alpha" / "t_alpha-x.sql.gz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"\x1f\x8b")
    export = TeamExport.objects.create(team=team_a, status=ExportStatus.DONE, file_path=str(archive))
    invitation = invitation_create(team=team_a, email="invited@example.com", role=Role.VIEWER, invited_by=owner)
    with tenant_context(team_a):
        from tenant_apps.pipelines.services import pipeline_create_default

        pipeline = pipeline_create_default(name="Matrix", llm_provider_id=1, llm_model="m")
        _key, full_key = api_key_create(name="full", read_only=False, created_by=None)
        _key, read_only_key = api_key_create(name="ro", read_only=True, created_by=None)
        key_id = _key.pk
        # Nothing listens on port 9: "Test connection" fails fast instead of calling out.
        provider = LlmProvider.objects.create(
            name="Matrix LLM", type="openai", config={"base_url": "http://127.0.0.1:9/v1"}, credentials={"api_key": "k"}
        )
        model = provider.custom_models.create(name="matrix-model")
        chat = _chat_objects(tmp_path, owner)
        events = _events_objects(chat, owner)
    return {
        "kwargs": {
            "membership_id": Membership.objects.get(user=target, team=team_a).pk,
            "invitation_id": invitation.pk,
            "export_id": export.pk,
            "key_id": key_id,
            "pipeline_id": pipeline.pk,
            "chatbot_id": chat["chatbot"].pk,
            "form_id": chat["form"].pk,
            "session_id": chat["session"].external_id,
            "trace_id": chat["trace"].pk,
            "session_export_id": chat["export"].pk,
            "participant_id": chat["session"].participant_id,
        },
        "keys": [full_key, read_only_key],
        # URLs with more than one parameter (providers).
        "kwarg_sets": [
            {"kind": "llm"},
            {"kind": "llm", "pk": provider.pk},
            {"pk": provider.pk},
            {"pk": provider.pk, "model_pk": model.pk},
            {"chatbot_id": chat["chatbot"].pk, "number": 1},
            {"chatbot_id": chat["chatbot"].pk, "channel_id": chat["channel"].pk},
            {"session_id": chat["session"].external_id, "message_id": chat["message"].pk},
            {
                "chatbot_id": chat["chatbot"].pk,
                "session_id": chat["session"].external_id,
                "message_id": chat["message"].pk,
            },
            {"session_id": chat["session"].external_id, "message_id": chat["message"].pk, "tag_id": chat["tag"].pk},
            {"session_id": chat["session"].external_id, "file_id": chat["file"].pk},
            {"chatbot_id": chat["chatbot"].pk, "trigger_id": events["trigger_id"]},
            {"chatbot_id": chat["chatbot"].pk, "broadcast_id": events["broadcast_id"]},
            {"participant_id": chat["session"].participant_id, "scheduled_id": events["scheduled_id"]},
            {"chatbot_id": chat["chatbot"].pk, "channel_id": chat["channel"].pk},
        ],
    }


def _chat_objects(tmp_path, owner):
    """A chatbot with a published version, a consent form, an in-app session with a traced turn, a tag, a
    finished CSV export (created in team A's schema)."""
    from django.core.files.base import ContentFile

    from tenant_apps.chatbots.models import ConsentForm
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenant_apps.conversations import exports, services
    from tenant_apps.conversations.enums import ExportStatus as SessionExportStatus
    from tenant_apps.conversations.enums import Platform
    from tenant_apps.conversations.models import ChatFile, SessionExport, Tag, Trace
    from tests.factories.conversations import say

    form = ConsentForm.objects.create(name="Matrix consent", consent_text="Agree?")
    chatbot = chatbot_create(name="Matrix bot", created_by=owner)
    version_create(chatbot=chatbot, actor=owner)
    participant = services.participant_for_member(user=owner)
    session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
    message = say(session, "hello")
    trace = Trace.objects.create(session=session, message=message, status="success")
    tag = Tag.objects.create(name="matrix")
    from tenant_apps.channels.services import channel_create

    channel = channel_create(chatbot=chatbot, kind="widget", name="Matrix widget")
    export = SessionExport.objects.create(status=SessionExportStatus.DONE, file_name="matrix.csv")
    chat_file = ChatFile(session=session, name="notes.txt", content_type="text/plain", size=5)
    chat_file.file.save("notes.txt", ContentFile(b"notes"), save=True)
    (exports.export_dir() / "matrix.csv").write_text("session_id\n")
    return {
        "channel": channel,
        "chatbot": chatbot,
        "form": form,
        "session": session,
        "message": message,
        "trace": trace,
        "tag": tag,
        "export": export,
        "file": chat_file,
    }


def _events_objects(chat, owner):
    """An event trigger and a timeout trigger with the same id (one URL parameter serves both), a broadcast and a
    scheduled message for the session's participant."""
    from datetime import timedelta

    from django.utils import timezone

    from tenant_apps.events import scheduling
    from tenant_apps.events.enums import Origin
    from tenant_apps.events.models import TimeoutTrigger
    from tenant_apps.events.services import broadcast_create, static_trigger_save

    chatbot = chat["chatbot"]
    trigger = static_trigger_save(chatbot=chatbot, name="Matrix", event="conversation_started", action="log", params={})
    TimeoutTrigger.objects.create(pk=trigger.pk, chatbot=chatbot, name="Matrix", action="log", delay_seconds=60)
    scheduled = scheduling.scheduled_message_create(
        chatbot=chatbot,
        participant=chat["session"].participant,
        text="Matrix",
        first_run_at=timezone.now() + timedelta(days=1),
        origin=Origin.BUILDER,
    )
    broadcast = broadcast_create(chatbot=chatbot, text="Matrix", platforms=["web"], actor=owner)
    return {"trigger_id": trigger.pk, "broadcast_id": broadcast.pk, "scheduled_id": scheduled.public_id}


def _path(row, objects):
    for kwargs in ({}, *({k: v} for k, v in objects["kwargs"].items()), *objects.get("kwarg_sets", [])):
        try:
            return reverse(row["name"], urlconf="config.urls_tenant", kwargs=kwargs)
        except NoReverseMatch:
            continue
    raise AssertionError(f"cannot build a URL for {row['name']}")


def _call(client, method, path, **extra):
    return getattr(client, method.lower())(path, **extra)


@pytest.mark.parametrize("role_index", range(4), ids=[r.value for r in ROLES])
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['name']}-{r['method']}")
def test_role_gets_what_the_matrix_says(row, role_index, objects, team_a, make_member, client_for):
    role = ROLES[role_index]
    client = client_for(team_a, make_member(team_a, role))

    response = _call(client, row["method"], _path(row, objects))

    if row["roles"][role_index]:
        assert response.status_code != 404, f"{role} should reach {row['name']} {row['method']}"
    else:
        assert response.status_code == 404, f"{role} must not reach {row['name']} {row['method']}"


@pytest.mark.parametrize("key_index", range(2), ids=["full-key", "read-only-key"])
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r['name']}-{r['method']}")
def test_api_key_gets_what_the_matrix_says(row, key_index, objects, team_a, client_for):
    raw = objects["keys"][key_index]

    response = _call(client_for(team_a), row["method"], _path(row, objects), HTTP_AUTHORIZATION=f"Bearer {raw}")

    if row["keys"][key_index]:
        # An unsafe method gets past the access check and is then judged on its (empty) body or the object's
        # state: 400 (invalid), 409 (e.g. a provider still in use), 415 (not JSON) or a success.
        assert response.status_code in (200, 201, 204) or (
            row["method"] != "GET" and response.status_code in (400, 409, 415)
        ), response.status_code
    else:
        # Pages don't accept keys (anonymous: login redirect); APIs refuse them.
        assert response.status_code in (302, 401, 403), response.status_code
        if response.status_code == 302:
            assert "/accounts/login/" in response["Location"]

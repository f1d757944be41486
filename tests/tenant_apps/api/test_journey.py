"""A builder's whole journey through the API alone, black-box over real HTTP with the real chat worker: provider →
chatbot → pipeline → widget channel → publish → a visitor chats through the widget API → the session read back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tenant_apps.api.services import api_key_create
from tenants.context import tenant_context
from tenants.models import Team
from tests.fakes.llm_server import Profile

pytestmark = pytest.mark.worker

CEILING = 120.0


@pytest.fixture
def builder_key(django_db_setup: None, committed: None) -> Iterator[tuple[Team, str]]:
    """A full key of team alpha; what the journey creates is removed afterwards."""
    from tenant_apps.api.models import ApiKey
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.channels.models import Channel
    from tenant_apps.chatbots.models import Chatbot
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenant_apps.pipelines.models import Pipeline
    from tenant_apps.providers.models import LlmProvider
    from tenants.models import ChannelRoute

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        key, raw = api_key_create(name="journey", read_only=False, created_by=None)
    yield team, raw
    with tenant_context(team):
        bots = list(Chatbot.objects.filter(name="Journey bot"))
        ChatSession.objects.filter(chatbot__in=bots).delete()
        Participant.objects.filter(identifier="journey-visitor").delete()
        channel_ids = list(Channel.objects.filter(chatbot__in=bots).values_list("pk", flat=True))
        Channel.objects.filter(pk__in=channel_ids).delete()
        Chatbot.objects.filter(pk__in=[b.pk for b in bots]).update(published_version=None)
        for bot in bots:
            bot.versions.all().delete()
        Chatbot.objects.filter(pk__in=[b.pk for b in bots]).delete()
        Pipeline.objects.filter(name__startswith="Journey bot").delete()
        LlmProvider.objects.filter(name="Journey LLM").delete()
        ApiKey.objects.filter(pk=key.pk).delete()
        AuditEvent.objects.filter(id__gt=last_event).delete()
    ChannelRoute.objects.filter(team=team, channel_id__in=channel_ids).delete()


def test_builder_journey_through_the_api(live_worker, live_http, builder_key, fake_llm):
    team, key = builder_key
    fake_llm.profile = Profile(first_token=0.1, tokens=5, seconds=0.2)
    host = f"{team.slug}.localhost"
    api = httpx.Client(base_url=live_http, headers={"Host": host, "Authorization": f"Bearer {key}"}, timeout=CEILING)

    def ok(response: httpx.Response, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    provider = ok(
        api.post(
            "/api/v1/providers/",
            json={
                "type": "openai",
                "name": "Journey LLM",
                "config": {"base_url": fake_llm.openai_base_url},
                "secrets": {"api_key": "sk-journey-secret-0001"},
            },
        ),
        201,
    )
    bot = ok(
        api.post(
            "/api/v1/chatbots/",
            json={"name": "Journey bot", "llm_provider_id": provider["id"], "llm_model": "fake-model"},
        ),
        201,
    )
    pipeline = ok(api.get(f"/api/v1/chatbots/{bot['id']}/pipeline/"))
    llm = next(node for node in pipeline["graph"]["nodes"] if node["type"] == "llm")
    llm["params"]["prompt"] = "You are the journey bot."
    saved = ok(
        api.put(
            f"/api/v1/chatbots/{bot['id']}/pipeline/",
            json={"graph": pipeline["graph"], "base_revision": pipeline["edit_revision"]},
        )
    )
    channel = ok(
        api.post(
            f"/api/v1/chatbots/{bot['id']}/channels/",
            json={"kind": "widget", "name": "Site", "config": {"allowed_domains": ["shop.example"]}},
        ),
        201,
    )
    version = ok(api.post(f"/api/v1/chatbots/{bot['id']}/versions/", json={"publish": True}), 201)

    widget = httpx.Client(
        base_url=live_http,
        headers={"Host": host, "Origin": "https://shop.example", "X-Embed-Key": channel["embed_key"]},
        timeout=CEILING,
    )
    start = widget.post(
        "/api/chat/start/", json={"chatbot_id": bot["public_id"], "participant_remote_id": "journey-visitor"}
    )
    assert start.status_code == 201, start.text
    session_id = start.json()["session_id"]
    sent = widget.post(f"/api/chat/{session_id}/message/", json={"message": "hello journey"})
    assert sent.status_code == 202, sent.text
    task = sent.json()["task_id"]
    deadline = time.monotonic() + CEILING
    answer = {"status": "processing"}
    while answer["status"] != "complete" and time.monotonic() < deadline:
        answer = widget.get(f"/api/chat/{session_id}/{task}/poll/?wait=20").json()

    session = ok(api.get(f"/api/v1/sessions/{session_id}/"))

    assert provider["secrets"]["api_key"].endswith("0001")
    assert "sk-journey-secret-0001" not in str(provider)
    assert saved["errors"] == []
    assert version["published"] is True
    assert answer["status"] == "complete"
    assert answer["message"]["content"].startswith("Echo: hello journey")
    assert session["chatbot_id"] == bot["id"]
    assert session["platform"] == "widget"
    assert session["version"] == 1
    assert [(m["role"], m["content"][:19]) for m in session["messages"]] == [
        ("user", "hello journey"),
        ("assistant", "Echo: hello journey"),
    ]
    sessions = ok(api.get(f"/api/v1/sessions/?chatbot_id={bot['id']}&participant=journey-visitor"))
    assert [s["id"] for s in sessions["results"]] == [session_id]

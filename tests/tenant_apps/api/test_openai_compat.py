"""The OpenAI-compatible endpoint driven by the official ``openai`` client over real HTTP, with the real chat worker
and the fake model streaming at a realistic pace (ADR 0111)."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tenants.context import tenant_context
from tenants.models import Team
from tests.fakes.llm_server import Profile

pytestmark = pytest.mark.worker

CEILING = 120.0


def _client(live_http: str, team: Team, bot: Any, key: str, version: int | None = None) -> openai.OpenAI:
    path = f"/api/openai/{bot.pk}" + (f"/v{version}" if version else "")
    return openai.OpenAI(
        api_key=key,
        base_url=live_http + path,
        default_headers={"Host": f"{team.slug}.localhost"},
        max_retries=0,
        timeout=CEILING,
    )


def test_plain_completion_replays_history_and_returns_usage(live_worker, live_http, published_bot, fake_llm):
    team, bot, key = published_bot("alpha")
    fake_llm.profile = Profile(first_token=0.2, tokens=10, seconds=0.5)
    client = _client(live_http, team, bot, key)

    completion = client.chat.completions.create(
        model="anything",
        messages=[
            {"role": "system", "content": "ignored"},
            {"role": "user", "content": "my name is Ada"},
            {"role": "assistant", "content": "Hello Ada"},
            {"role": "user", "content": [{"type": "text", "text": "what is"}, {"type": "text", "text": "my name"}]},
        ],
        user="participant-7",
    )

    assert completion.choices[0].message.content.startswith("Echo: what is my name")
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.total_tokens > 0
    sent = fake_llm.last_request.json["messages"]
    assert [(m["role"], m["content"]) for m in sent[-3:]] == [
        ("user", "my name is Ada"),
        ("assistant", "Hello Ada"),
        ("user", "what is my name"),
    ]


def test_streaming_sends_tokens_then_usage_then_done(live_worker, live_http, published_bot, fake_llm):
    team, bot, key = published_bot("alpha")
    fake_llm.profile = Profile(first_token=0.3, tokens=30, seconds=1.0)
    client = _client(live_http, team, bot, key)

    chunks = list(
        client.chat.completions.create(
            model="anything",
            messages=[{"role": "user", "content": "stream please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    text = "".join(pieces)
    assert text.startswith("Echo: stream please w0 w1")
    assert len(pieces) > 3  # as the model produces them, not one block at the end
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    with tenant_context(team):
        from tenant_apps.conversations.models import ChatMessage

        stored = ChatMessage.objects.filter(session__chatbot=bot, role="assistant").get()
    assert stored.content == text


def test_pinned_version_and_models(live_worker, live_http, published_bot, fake_llm):
    team, bot, key = published_bot("alpha")
    fake_llm.profile = Profile(first_token=0.1, tokens=5, seconds=0.2)

    models = _client(live_http, team, bot, key).models.list()
    completion = _client(live_http, team, bot, key, version=1).chat.completions.create(
        model="x", messages=[{"role": "user", "content": "hi"}]
    )

    assert [m.id for m in models.data] == [f"chatbot-{bot.pk}", f"chatbot-{bot.pk}-v1"]
    assert completion.model == f"chatbot-{bot.pk}-v1"
    with pytest.raises(openai.NotFoundError):
        _client(live_http, team, bot, key, version=9).chat.completions.create(
            model="x", messages=[{"role": "user", "content": "hi"}]
        )


def test_bad_key_and_another_teams_key_or_chatbot(live_http, published_bot):
    from tenant_apps.chatbots.models import Chatbot

    team, bot, key = published_bot("alpha")
    other_team, other_bot, other_key = published_bot("bravo")
    with tenant_context(team):  # ids are per schema: pick team B's id only when team A has no such chatbot
        missing_here = other_bot.pk if not Chatbot.objects.filter(pk=other_bot.pk).exists() else bot.pk + 100_000
    hello = [{"role": "user", "content": "hi"}]

    with pytest.raises(openai.AuthenticationError):
        _client(live_http, team, bot, "cs_0000000000.not-a-real-secret-at-all").chat.completions.create(
            model="x", messages=hello
        )
    with pytest.raises(openai.AuthenticationError):  # team B's key does not exist on team A's host
        _client(live_http, team, bot, other_key).chat.completions.create(model="x", messages=hello)
    with pytest.raises(openai.AuthenticationError):  # nor team A's key on team B's host
        _client(live_http, other_team, other_bot, key).chat.completions.create(model="x", messages=hello)
    with pytest.raises(openai.NotFoundError):
        _client(live_http, team, type(bot)(pk=missing_here), key).chat.completions.create(model="x", messages=hello)
    with pytest.raises(openai.BadRequestError):
        _client(live_http, team, bot, key).chat.completions.create(
            model="x", messages=[{"role": "assistant", "content": "the last message is not the user's"}]
        )

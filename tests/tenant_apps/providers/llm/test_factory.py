"""``chat_model_for``: the team's provider -> a cached SDK client -> a ChatModel that works against the fake."""

from __future__ import annotations

import pytest

from shared_apps.core import http
from shared_apps.core.http import UnsafeUrlError
from tenant_apps.providers.exceptions import ProviderNotFoundError
from tenant_apps.providers.llm import factory
from tenant_apps.providers.llm.factory import chat_model_for, count_tokens, run_tool_loop
from tenant_apps.providers.llm.types import ChatParams, Message, ToolSpec
from tenant_apps.providers.services import provider_replace_credentials
from tenants.context import tenant_context
from tests.factories.providers import SECRET, llm_provider

HELLO = [Message(role="system", content="Be brief."), Message(role="user", content="hello")]


def test_chat_model_for_openai_compatible_provider(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.openai_base_url, type="groq")

    model = chat_model_for(provider_id=provider.pk, model="llama-3.3-70b-versatile")
    result = model.chat(messages=HELLO, params=ChatParams(max_tokens=5))

    assert model.provider_type == "groq"
    assert result.text == "Echo: hello"
    assert fake_llm.last_request.json["max_tokens"] == 5  # compatible endpoints get max_tokens
    assert fake_llm.last_request.headers["authorization"] == f"Bearer {SECRET}"


def test_chat_model_for_openai_uses_max_completion_tokens_and_catalog_traits(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.openai_base_url)

    chat_model_for(provider_id=provider.pk, model="o3").chat(
        messages=HELLO, params=ChatParams(max_tokens=9, temperature=0.3, reasoning_effort="low")
    )

    sent = fake_llm.last_request.json
    assert sent["max_completion_tokens"] == 9
    assert sent["reasoning_effort"] == "low"
    assert "temperature" not in sent  # the catalog says o3 takes none


def test_chat_model_for_azure_calls_the_deployment(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.url, type="azure_openai", deployment="prod-gpt")

    result = chat_model_for(provider_id=provider.pk, model="gpt-4.1-mini").chat(messages=HELLO)

    assert result.text == "Echo: hello"
    assert fake_llm.last_request.path == "/openai/deployments/prod-gpt/chat/completions"
    assert fake_llm.last_request.query["api-version"] == ["2024-10-21"]
    assert fake_llm.last_request.headers["api-key"] == SECRET


def test_chat_model_for_anthropic_streams(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.url, type="anthropic")
    fake_llm.reply("Hi from Claude")

    events = list(chat_model_for(provider_id=provider.pk, model="claude-haiku-4-5").stream(messages=HELLO))

    assert "".join(e.text for e in events) == "Hi from Claude"
    assert events[-1].result.usage.output_tokens == 3
    assert fake_llm.last_request.json["system"] == "Be brief."


def test_chat_model_for_with_tool_loop_through_the_factory_exports(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.openai_base_url)
    fake_llm.tool_call("add", {"a": 2, "b": 3})
    fake_llm.reply("5")
    add = ToolSpec(name="add", description="Add two numbers", parameters={"type": "object", "properties": {}})

    result = run_tool_loop(
        chat_model_for(provider_id=provider.pk, model="gpt-4.1-mini"),
        messages=[Message(role="user", content="2+3?")],
        tools=[add],
        handlers={"add": lambda call: str(call.arguments["a"] + call.arguments["b"])},
    )

    assert result.text == "5"
    assert fake_llm.requests[-1].json["messages"][-1] == {
        "role": "tool",
        "tool_call_id": fake_llm.requests[-1].json["messages"][-2]["tool_calls"][0]["id"],
        "content": "5",
    }
    assert count_tokens("hello world") == 2


def test_chat_model_for_caches_the_client_and_costs_one_query(team, catalog, fake_llm, django_assert_num_queries):
    provider = llm_provider(base_url=fake_llm.openai_base_url)
    first = chat_model_for(provider_id=provider.pk, model="gpt-4.1-mini")

    with django_assert_num_queries(1):
        second = chat_model_for(provider_id=provider.pk, model="gpt-4.1-mini")

    assert second.client is first.client
    assert factory.cached_client_count() == 1


def test_replacing_credentials_rebuilds_the_client(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.openai_base_url)
    before = chat_model_for(provider_id=provider.pk, model="m")

    provider_replace_credentials(
        provider=provider, config={"base_url": fake_llm.openai_base_url}, secrets={"api_key": "sk-rotated-000000000000"}
    )
    after = chat_model_for(provider_id=provider.pk, model="m")
    after.chat(messages=HELLO)

    assert after.client is not before.client
    assert fake_llm.last_request.headers["authorization"] == "Bearer sk-rotated-000000000000"


def test_chat_model_for_another_teams_provider_is_not_found(team_a, team_b, catalog, fake_llm):
    with tenant_context(team_b):
        other = llm_provider(base_url=fake_llm.openai_base_url)

    with tenant_context(team_a), pytest.raises(ProviderNotFoundError):
        chat_model_for(provider_id=other.pk, model="m")


def test_chat_model_for_refuses_a_private_base_url_where_not_allowed(team, catalog, fake_llm, settings):
    provider = llm_provider(base_url=fake_llm.openai_base_url)
    settings.ALLOW_PRIVATE_URLS = False

    with pytest.raises(UnsafeUrlError):
        chat_model_for(provider_id=provider.pk, model="m")


def test_sdk_client_pins_checked_addresses_when_private_urls_are_refused(
    team, catalog, fake_llm, settings, monkeypatch
):
    # "llm.test" resolves to the fake's loopback address, which (only here) counts as public; the SDK's request
    # must reach it through the guarded transport with the original Host header.
    provider = llm_provider(base_url=f"http://llm.test:{fake_llm.port}/v1")
    settings.ALLOW_PRIVATE_URLS = False
    real_resolve, real_public = http.resolve, http.ip_is_public
    monkeypatch.setattr(
        http,
        "resolve",
        lambda host, port: real_resolve("127.0.0.1", port) if host == "llm.test" else real_resolve(host, port),
    )
    monkeypatch.setattr(http, "ip_is_public", lambda ip: str(ip) == "127.0.0.1" or real_public(ip))

    result = chat_model_for(provider_id=provider.pk, model="m").chat(messages=HELLO)

    assert result.text == "Echo: hello"
    assert fake_llm.last_request.headers["host"] == f"llm.test:{fake_llm.port}"


def test_guarded_sdk_client_refuses_a_name_that_turns_private(team, catalog, fake_llm, settings, monkeypatch):
    provider = llm_provider(base_url=f"http://rebind.test:{fake_llm.port}/v1")
    settings.ALLOW_PRIVATE_URLS = False
    answers = iter(["93.184.216.34", "127.0.0.1"])  # public at validation, private at connect (DNS rebinding)
    real_resolve = http.resolve
    monkeypatch.setattr(
        http,
        "resolve",
        lambda host, port: real_resolve(next(answers), port) if host == "rebind.test" else real_resolve(host, port),
    )

    with pytest.raises(UnsafeUrlError):
        chat_model_for(provider_id=provider.pk, model="m", max_retries=0).chat(messages=HELLO)

    assert fake_llm.requests == []

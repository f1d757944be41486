""" "Test connection" against the loopback fake: every provider type, success and the provider's error in words."""

from __future__ import annotations

import pytest

from tenant_apps.providers.checks import provider_test_connection
from tests.factories.providers import SECRET, SLACK_BOT, TELEGRAM_TOKEN, TWILIO_SID, llm_provider, messaging_provider


@pytest.fixture
def platforms(settings, fake_llm):
    settings.PLATFORM_API_URLS = {
        "telegram": fake_llm.url,
        "twilio": fake_llm.url,
        "slack": f"{fake_llm.url}/api/",
        "meta_graph": f"{fake_llm.url}/v25.0",
    }
    return fake_llm


def test_openai_compatible_provider_lists_models(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.openai_base_url)

    check = provider_test_connection(provider=provider)

    assert check.ok
    assert "2 model(s)" in check.message
    assert fake_llm.last_request.path == "/v1/models"
    assert fake_llm.last_request.headers["authorization"] == f"Bearer {SECRET}"


def test_anthropic_provider_lists_models(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.url, type="anthropic")

    check = provider_test_connection(provider=provider)

    assert check.ok
    assert "anthropic-version" in fake_llm.last_request.headers


def test_azure_provider_lists_models_with_api_key_header(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.url, type="azure_openai", deployment="prod-gpt")

    check = provider_test_connection(provider=provider)

    assert check.ok
    assert fake_llm.last_request.path == "/openai/models"
    assert fake_llm.last_request.headers["api-key"] == SECRET


def test_endpoint_without_model_list_falls_back_to_a_one_token_chat(team, catalog, fake_llm):
    provider = llm_provider(base_url=fake_llm.openai_base_url, type="vllm", api_key="")
    provider.custom_models.create(name="my-model")
    fake_llm.error(404, "Not Found")

    check = provider_test_connection(provider=provider)

    assert check.ok, check.message
    assert fake_llm.last_request.json["model"] == "my-model"
    assert fake_llm.last_request.json["max_tokens"] == 1


def test_wrong_llm_key_is_reported_in_plain_words_without_the_key(team, catalog, fake_llm):
    fake_llm.api_key = "sk-the-right-one-000000"
    provider = llm_provider(base_url=fake_llm.openai_base_url)

    check = provider_test_connection(provider=provider)

    assert not check.ok
    assert "refused the credentials" in check.message
    assert SECRET not in check.message  # the fake echoes the rejected key; it must be scrubbed


def test_unreachable_llm_endpoint_says_so(team, catalog):
    provider = llm_provider(base_url="http://127.0.0.1:9/v1")

    check = provider_test_connection(provider=provider)

    assert not check.ok
    assert "connect" in check.message.lower()


@pytest.mark.parametrize(
    ("type_", "named"),
    [
        pytest.param("openai", "OpenAI at 127.0.0.1:9", id="openai-type-on-a-local-url"),
        pytest.param("openai_compatible", "OpenAI-compatible (custom base URL) at 127.0.0.1:9", id="custom"),
        pytest.param("llamacpp", "llama.cpp at 127.0.0.1:9", id="llamacpp"),
    ],
)
def test_errors_name_the_host_actually_called(team, catalog, type_, named):
    provider = llm_provider(base_url="http://127.0.0.1:9/v1", type=type_, api_key="sk-x" if type_ == "openai" else "")

    check = provider_test_connection(provider=provider)

    assert f"Could not connect to {named}." in check.message


def test_custom_openai_compatible_endpoint_lists_its_models(team, catalog, fake_llm):
    fake_llm.models = ["llama3.1:8b", "qwen2.5:0.5b", "fake-model"]
    provider = llm_provider(base_url=fake_llm.openai_base_url, type="openai_compatible", api_key="")

    check = provider_test_connection(provider=provider)

    assert check.ok
    assert check.models == ("fake-model", "llama3.1:8b", "qwen2.5:0.5b")
    assert "at 127.0.0.1:" in check.message


def test_telegram_get_me(team, platforms):
    check = provider_test_connection(provider=messaging_provider(type="telegram"))

    assert check.ok
    assert "@fake_test_bot" in check.message
    assert platforms.last_request.path == f"/bot{TELEGRAM_TOKEN}/getMe"


def test_telegram_refusal_shows_telegram_words_without_the_token(team, platforms):
    platforms.error(401, "Unauthorized")

    check = provider_test_connection(provider=messaging_provider(type="telegram"))

    assert not check.ok
    assert "Unauthorized" in check.message
    assert TELEGRAM_TOKEN not in check.message


def test_twilio_account_fetch(team, platforms):
    check = provider_test_connection(provider=messaging_provider(type="twilio"))

    assert check.ok, check.message
    assert "Fake Twilio account" in check.message
    assert platforms.last_request.path == f"/2010-04-01/Accounts/{TWILIO_SID}.json"


def test_twilio_refusal(team, platforms):
    platforms.error(401, "Authenticate")

    check = provider_test_connection(provider=messaging_provider(type="twilio"))

    assert not check.ok
    assert "HTTP 401" in check.message


def test_slack_auth_test(team, platforms):
    check = provider_test_connection(provider=messaging_provider(type="slack"))

    assert check.ok, check.message
    assert "Fake workspace" in check.message
    assert platforms.last_request.headers["authorization"] == f"Bearer {SLACK_BOT}"


def test_slack_refusal(team, platforms):
    platforms.error(401, "invalid_auth")

    check = provider_test_connection(provider=messaging_provider(type="slack"))

    assert not check.ok
    assert "invalid_auth" in check.message


def test_meta_me_with_appsecret_proof(team, platforms):
    check = provider_test_connection(provider=messaging_provider(type="meta_cloud_api"))

    request = platforms.last_request
    assert check.ok, check.message
    assert request.path == "/v25.0/me"
    assert len(request.query["appsecret_proof"][0]) == 64
    assert "access_token" not in request.query  # the token travels in a header, not the URL


def test_meta_refusal(team, platforms):
    platforms.error(400, "Invalid appsecret_proof provided in the API argument")

    check = provider_test_connection(provider=messaging_provider(type="meta_cloud_api"))

    assert not check.ok
    assert "appsecret_proof" in check.message


def test_messaging_check_refuses_private_platform_url_in_production(team, settings):
    settings.ALLOW_PRIVATE_URLS = False
    settings.PLATFORM_API_URLS = {**settings.PLATFORM_API_URLS, "telegram": "http://127.0.0.1:9"}

    check = provider_test_connection(provider=messaging_provider(type="telegram"))

    assert not check.ok
    assert "private" in check.message


def test_no_secret_reaches_the_logs_even_at_debug_level(team, catalog, platforms, caplog):
    import logging

    from tenant_apps.providers.llm.errors import LlmAuthenticationError
    from tenant_apps.providers.llm.factory import chat_model_for
    from tenant_apps.providers.llm.types import Message
    from tests.factories.providers import META, SLACK_SIGNING, TWILIO_TOKEN

    caplog.set_level(logging.DEBUG)
    llm = llm_provider(base_url=platforms.openai_base_url)
    providers = [llm, *(messaging_provider(type=t) for t in ("telegram", "twilio", "slack", "meta_cloud_api"))]

    for provider in providers:
        provider_test_connection(provider=provider)
    platforms.api_key = "something-else-entirely"
    for provider in providers:
        provider_test_connection(provider=provider)
    chat_model_for(provider_id=llm.pk, model="m", max_retries=0)  # builds the client
    with pytest.raises(LlmAuthenticationError):
        chat_model_for(provider_id=llm.pk, model="m", max_retries=0).chat(messages=[Message(role="user", content="x")])

    for secret in (SECRET, TELEGRAM_TOKEN, TWILIO_TOKEN, SLACK_BOT, SLACK_SIGNING, *META.values()):
        assert secret not in caplog.text


@pytest.mark.parametrize("type_", ["twilio", "slack", "telegram", "meta_cloud_api"])
def test_unreachable_platform_is_reported_not_raised(team, settings, type_):
    dead = "http://127.0.0.1:9"
    settings.PLATFORM_API_URLS = {"telegram": dead, "twilio": dead, "slack": f"{dead}/api/", "meta_graph": dead}

    check = provider_test_connection(provider=messaging_provider(type=type_))

    assert not check.ok
    assert check.message

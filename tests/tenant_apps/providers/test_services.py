"""Provider writes: validation per type, sealed secrets with masked hints, replace rules, audit without values."""

from __future__ import annotations

import pytest

from tenant_apps.audit.models import AuditEvent
from tenant_apps.providers.enums import ProviderKind
from tenant_apps.providers.exceptions import ProviderInUseError, ProviderValidationError
from tenant_apps.providers.models import LlmProvider, MessagingProvider
from tenant_apps.providers.services import (
    llm_provider_model_add,
    provider_create,
    provider_delete,
    provider_rename,
    provider_replace_credentials,
)
from tests.factories.providers import SECRET, llm_provider, messaging_provider

OPENAI_URL = "https://api.openai.com/v1"


def _fields(err) -> dict:
    return err.value.extra["fields"]


def test_provider_create_seals_secrets_and_keeps_only_a_masked_hint(team, catalog):
    provider = llm_provider(base_url=OPENAI_URL)

    assert provider.api == "openai"
    assert provider.config == {"base_url": OPENAI_URL}
    assert provider.credential_hints == {"api_key": "••••6789"}
    assert LlmProvider.objects.get(pk=provider.pk).credentials.reveal() == {"api_key": SECRET}


def test_provider_create_audits_names_only(team, catalog, make_user):
    user = make_user()

    provider = provider_create(
        kind=ProviderKind.LLM,
        type="openai",
        name="Prod",
        config={"base_url": OPENAI_URL},
        secrets={"api_key": SECRET},
        user=user,
    )

    event = AuditEvent.objects.get(action="provider.created")
    assert event.target_id == str(provider.pk)
    assert event.data == {"kind": "llm", "type": "openai", "name": "Prod", "secrets": ["api_key"]}
    assert SECRET not in str(event.data) + event.target_label


@pytest.mark.parametrize(
    ("type_", "config", "secrets", "bad_field"),
    [
        pytest.param("openai", {"base_url": OPENAI_URL}, {}, "api_key", id="missing-key"),
        pytest.param("openai", {"base_url": "ftp://x"}, {"api_key": "k" * 20}, "base_url", id="bad-scheme"),
        pytest.param("vllm", {}, {}, "base_url", id="vllm-needs-url"),
        pytest.param(
            "azure_openai", {"api_version": "2024-10-21"}, {"api_key": "k" * 20}, "azure_endpoint", id="azure-endpoint"
        ),
        pytest.param(
            "azure_openai",
            {"azure_endpoint": "https://x.openai.azure.com", "api_version": "latest"},
            {"api_key": "k" * 20},
            "api_version",
            id="azure-version",
        ),
    ],
)
def test_provider_create_validates_llm_fields(team, catalog, type_, config, secrets, bad_field):
    with pytest.raises(ProviderValidationError) as err:
        provider_create(kind=ProviderKind.LLM, type=type_, name="X", config=config, secrets=secrets)

    assert bad_field in _fields(err)


@pytest.mark.parametrize(
    ("type_", "config", "secrets", "bad_field"),
    [
        pytest.param("twilio", {"account_sid": "nope"}, {"auth_token": "t" * 32}, "account_sid", id="twilio-sid"),
        pytest.param("telegram", {}, {"bot_token": "not-a-token"}, "bot_token", id="telegram-token"),
        pytest.param("slack", {}, {"bot_token": "xoxp-user", "signing_secret": "a" * 32}, "bot_token", id="slack-bot"),
        pytest.param(
            "meta_cloud_api", {}, {"app_secret": "a" * 32, "access_token": "b" * 40}, "verify_token", id="meta-verify"
        ),
    ],
)
def test_provider_create_validates_messaging_fields(team, type_, config, secrets, bad_field):
    with pytest.raises(ProviderValidationError) as err:
        provider_create(kind=ProviderKind.MESSAGING, type=type_, name="X", config=config, secrets=secrets)

    assert bad_field in _fields(err)


def test_provider_create_refuses_private_base_url_unless_allowed(team, catalog, settings):
    settings.ALLOW_PRIVATE_URLS = False

    with pytest.raises(ProviderValidationError) as err:
        llm_provider(base_url="http://127.0.0.1:8011/v1", type="llamacpp")

    assert "private" in _fields(err)["base_url"]


def test_provider_create_accepts_loopback_base_url_when_allowed(team, catalog, settings):
    settings.ALLOW_PRIVATE_URLS = True

    provider = llm_provider(base_url="http://127.0.0.1:8011/v1", type="llamacpp", api_key="")

    assert provider.config["base_url"] == "http://127.0.0.1:8011/v1"


def test_provider_create_refuses_unknown_types_and_duplicate_names(team, catalog):
    llm_provider(base_url=OPENAI_URL, name="Main")

    with pytest.raises(ProviderValidationError) as unknown:
        provider_create(kind=ProviderKind.LLM, type="nope", name="Y", config={}, secrets={})
    with pytest.raises(ProviderValidationError) as duplicate:
        llm_provider(base_url=OPENAI_URL, name="main")

    assert "type" in _fields(unknown)
    assert "name" in _fields(duplicate)


def test_replace_with_blank_secret_keeps_it(team, catalog):
    provider = llm_provider(base_url=OPENAI_URL, organization="org-1")

    provider_replace_credentials(
        provider=provider, config={"base_url": OPENAI_URL, "organization": "org-2"}, secrets={}
    )

    provider.refresh_from_db()
    assert provider.config["organization"] == "org-2"
    assert provider.credentials.reveal() == {"api_key": SECRET}


def test_replace_with_new_secret_replaces_it_and_changes_updated_at(team, catalog):
    provider = llm_provider(base_url=OPENAI_URL)
    before = provider.updated_at

    provider_replace_credentials(
        provider=provider, config={"base_url": OPENAI_URL}, secrets={"api_key": "sk-new-key-0000000000"}
    )

    provider.refresh_from_db()
    assert provider.credentials.reveal() == {"api_key": "sk-new-key-0000000000"}
    assert provider.credential_hints == {"api_key": "••••0000"}
    assert provider.updated_at > before
    event = AuditEvent.objects.get(action="provider.credentials_replaced")
    assert event.data["secrets"] == ["api_key"]


def test_replace_refuses_to_send_the_old_key_to_a_new_address(team, catalog):
    provider = llm_provider(base_url=OPENAI_URL)

    with pytest.raises(ProviderValidationError) as err:
        provider_replace_credentials(provider=provider, config={"base_url": "https://evil.example.com/v1"}, secrets={})

    assert "api_key" in _fields(err)
    provider.refresh_from_db()
    assert provider.config["base_url"] == OPENAI_URL


def test_replace_keeps_other_secrets_of_a_multi_secret_type(team):
    provider = messaging_provider(type="meta_cloud_api")

    provider_replace_credentials(
        provider=provider, config={}, secrets={"access_token": "new-access-token-000000000000"}
    )

    secrets = MessagingProvider.objects.get(pk=provider.pk).credentials.reveal()
    assert secrets["access_token"] == "new-access-token-000000000000"
    assert secrets["app_secret"].startswith("meta-app")


def test_rename_audits_old_and_new_name(team, catalog):
    provider = llm_provider(base_url=OPENAI_URL, name="Old")

    provider_rename(provider=provider, name="  New   name ")

    assert LlmProvider.objects.get(pk=provider.pk).name == "New name"
    assert AuditEvent.objects.get(action="provider.renamed").data["to"] == "New name"


def test_delete_removes_and_audits(team):
    provider = messaging_provider(type="twilio")

    provider_delete(provider=provider)

    assert not MessagingProvider.objects.filter(pk=provider.pk).exists()
    event = AuditEvent.objects.get(action="provider.deleted")
    assert event.data["name"] == provider.name
    assert "twilio-SECRET" not in str(event.data)


def usage_check(provider):
    return ["Chatbot “Helpdesk”"] if provider.name == "Used" else []


def test_delete_is_refused_while_in_use(team, catalog, settings):
    settings.PROVIDER_USAGE_CHECKS = ["tests.tenant_apps.providers.test_services.usage_check"]
    provider = llm_provider(base_url=OPENAI_URL, name="Used")

    with pytest.raises(ProviderInUseError) as err:
        provider_delete(provider=provider)

    assert err.value.extra["used_by"] == ["Chatbot “Helpdesk”"]
    assert LlmProvider.objects.filter(pk=provider.pk).exists()


def test_custom_model_names_are_validated_and_unique(team, catalog):
    provider = llm_provider(base_url=OPENAI_URL)
    llm_provider_model_add(provider=provider, name="llama3.1:8b", context_window=8192)

    with pytest.raises(ProviderValidationError):
        llm_provider_model_add(provider=provider, name="llama3.1:8b")
    with pytest.raises(ProviderValidationError):
        llm_provider_model_add(provider=provider, name="has spaces")

    assert list(provider.custom_models.values_list("name", flat=True)) == ["llama3.1:8b"]

"""Providers for tests, made through the real services (so validation and encryption apply)."""

from __future__ import annotations

from typing import Any

from tenant_apps.providers.enums import ProviderKind
from tenant_apps.providers.models import LlmProvider, MessagingProvider
from tenant_apps.providers.services import provider_create

SECRET = "sk-live-SECRET-never-shown-0123456789"  # grep target: must never appear in any response
TELEGRAM_TOKEN = "123456789:AAE-never-shown-SECRET-abcdefghijk"
TWILIO_SID = "AC" + "0" * 32
TWILIO_TOKEN = "twilio-SECRET-never-shown-0123456789"
SLACK_BOT = "xoxb-1-SECRET-never-shown"
SLACK_SIGNING = "abcdef0123456789abcdef0123456789"
META = {
    "app_secret": "meta-app-SECRET-never-shown-01",
    "access_token": "meta-access-SECRET-never-shown-0123",
    "verify_token": "meta-verify-SECRET-0",
}


def llm_provider(
    *, base_url: str, api_key: str = SECRET, type: str = "openai", name: str = "Test LLM", **config: str
) -> LlmProvider:
    if type == "azure_openai":
        settings = {"azure_endpoint": base_url, "api_version": "2024-10-21", **config}
    else:
        settings = {"base_url": base_url, **config}
    provider = provider_create(
        kind=ProviderKind.LLM, type=type, name=name, config=settings, secrets={"api_key": api_key} if api_key else {}
    )
    assert isinstance(provider, LlmProvider)
    return provider


def messaging_provider(*, type: str, name: str | None = None) -> MessagingProvider:
    config: dict[str, Any] = {}
    secrets: dict[str, str]
    if type == "telegram":
        secrets = {"bot_token": TELEGRAM_TOKEN}
    elif type == "twilio":
        config, secrets = {"account_sid": TWILIO_SID}, {"auth_token": TWILIO_TOKEN}
    elif type == "slack":
        secrets = {"bot_token": SLACK_BOT, "signing_secret": SLACK_SIGNING}
    else:
        secrets = dict(META)
    provider = provider_create(
        kind=ProviderKind.MESSAGING, type=type, name=name or f"{type} test", config=config, secrets=secrets
    )
    assert isinstance(provider, MessagingProvider)
    return provider

"""``manage.py rotate_credentials``: every stored secret in every team re-encrypted with the newest key."""

from __future__ import annotations

from cryptography.fernet import Fernet
from django.core.management import call_command

from tenant_apps.providers.models import LlmProvider
from tenants.context import tenant_context
from tests.factories.providers import SECRET, llm_provider

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _raw_token(provider: LlmProvider) -> str:
    return LlmProvider.objects.filter(pk=provider.pk).values_list("credentials", flat=True).get().token()


def test_rotate_credentials_reencrypts_every_team_with_the_newest_key(settings, team_a, team_b, catalog):
    settings.FERNET_KEYS = [OLD]
    with tenant_context(team_a):
        provider_a = llm_provider(base_url="https://api.openai.com/v1")
    with tenant_context(team_b):
        provider_b = llm_provider(base_url="https://api.openai.com/v1", api_key="sk-bravo-0123456789")
    settings.FERNET_KEYS = [NEW, OLD]

    call_command("rotate_credentials", verbosity=0)

    settings.FERNET_KEYS = [NEW]  # the old key is gone: everything must open with the new one alone
    with tenant_context(team_a):
        assert LlmProvider.objects.get(pk=provider_a.pk).credentials.reveal() == {"api_key": SECRET}
        assert Fernet(NEW.encode()).decrypt(_raw_token(provider_a).encode())
    with tenant_context(team_b):
        assert LlmProvider.objects.get(pk=provider_b.pk).credentials.reveal() == {"api_key": "sk-bravo-0123456789"}


def test_rotate_credentials_is_safe_to_rerun(settings, team, catalog):
    settings.FERNET_KEYS = [NEW]
    provider = llm_provider(base_url="https://api.openai.com/v1")

    call_command("rotate_credentials", verbosity=0)
    call_command("rotate_credentials", verbosity=0)

    assert LlmProvider.objects.get(pk=provider.pk).credentials.reveal() == {"api_key": SECRET}

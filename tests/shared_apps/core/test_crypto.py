"""Credentials at rest: Fernet round trip, several keys, sealed values."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shared_apps.core import crypto
from shared_apps.core.crypto import UndecryptableError
from shared_apps.core.fields import Secrets
from tenant_apps.providers.models import LlmProvider
from tests.factories.providers import SECRET, llm_provider

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _raw_token(provider: LlmProvider) -> str:
    return LlmProvider.objects.filter(pk=provider.pk).values_list("credentials", flat=True).get().token()


def test_encrypt_round_trip_and_token_is_not_plaintext():
    token = crypto.encrypt(b"hello secret")

    assert crypto.decrypt(token) == b"hello secret"
    assert "hello" not in token


def test_dev_key_is_derived_from_secret_key_when_no_keys_are_set(settings):
    settings.FERNET_KEYS = []

    assert crypto.active_keys() == (crypto.derived_key(settings.SECRET_KEY),)
    Fernet(crypto.active_keys()[0].encode())  # a valid Fernet key


def test_old_key_still_decrypts_after_a_new_key_is_put_first(settings):
    settings.FERNET_KEYS = [OLD]
    token = crypto.encrypt(b"v")

    settings.FERNET_KEYS = [NEW, OLD]

    assert crypto.decrypt(token) == b"v"


def test_value_needs_a_configured_key(settings):
    settings.FERNET_KEYS = [OLD]
    token = crypto.encrypt(b"v")
    settings.FERNET_KEYS = [NEW]

    with pytest.raises(UndecryptableError):
        crypto.decrypt(token)


def test_secrets_never_print_their_values():
    sealed = Secrets({"api_key": SECRET})

    assert SECRET not in repr(sealed)
    assert SECRET not in str(sealed)
    assert SECRET not in sealed.__html__()
    assert sealed.reveal() == {"api_key": SECRET}


def test_encrypted_field_stores_ciphertext_and_round_trips(team, catalog):
    provider = llm_provider(base_url="https://api.openai.com/v1")

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM providers_llmprovider WHERE id = %s", [provider.pk])
        stored = cursor.fetchone()[0]
    loaded = LlmProvider.objects.get(pk=provider.pk)
    assert SECRET not in stored
    assert isinstance(loaded.credentials, Secrets)
    assert loaded.credentials.reveal() == {"api_key": SECRET}


def test_assigning_a_dict_seals_it_at_once(team, catalog):
    provider = llm_provider(base_url="https://api.openai.com/v1")

    provider.credentials = {"api_key": "other-value-123456"}

    assert isinstance(provider.credentials, Secrets)
    assert "other-value" not in repr(provider.__dict__)


def test_saving_an_unchanged_row_keeps_the_stored_token(team, catalog):
    provider = llm_provider(base_url="https://api.openai.com/v1")
    before = _raw_token(provider)

    LlmProvider.objects.get(pk=provider.pk).save()

    assert _raw_token(provider) == before

"""The global catalog: seeded from its data file, safe to re-run, admin edits kept when pinned."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from shared_apps.catalog.models import LlmModel, ProviderType
from shared_apps.catalog.selectors import model_traits, model_traits_clear
from shared_apps.catalog.services import DATA_FILE, catalog_seed

EXPECTED_TYPES = {
    "openai",
    "azure_openai",
    "anthropic",
    "groq",
    "deepseek",
    "gemini",
    "mistral",
    "ollama",
    "vllm",
    "llamacpp",
}


@pytest.fixture
def data():
    return json.loads(DATA_FILE.read_text())


def test_seed_catalog_creates_every_provider_type_and_model(db, data):
    LlmModel.objects.all().delete()  # the test database is seeded once per session: start from empty here
    ProviderType.objects.all().delete()

    report = catalog_seed()

    assert set(ProviderType.objects.values_list("slug", flat=True)) >= EXPECTED_TYPES
    assert LlmModel.objects.count() == len(data["models"])
    assert report.created == len(data["provider_types"]) + len(data["models"])
    gpt = LlmModel.objects.get(provider_type__slug="openai", name="gpt-4.1-mini")
    assert gpt.input_price_per_million == Decimal("0.40")
    assert gpt.context_window > 100_000
    old = LlmModel.objects.get(provider_type__slug="openai", name="gpt-3.5-turbo")
    assert old.deprecated
    assert old.replacement.name == "gpt-4.1-mini"


def test_seed_catalog_twice_changes_nothing(db):
    catalog_seed()
    counts = (ProviderType.objects.count(), LlmModel.objects.count())

    report = catalog_seed()

    assert (ProviderType.objects.count(), LlmModel.objects.count()) == counts
    assert report.created == 0
    assert report.updated == 0


def test_seed_catalog_rerun_updates_changed_values_without_duplicates(db, data):
    catalog_seed()
    for model in data["models"]:
        if (model["provider_type"], model["name"]) == ("openai", "gpt-4o"):
            model["input_price_per_million"] = "9.99"
            model["replacement"] = "gpt-4.1"
    data["models"].append(
        {"provider_type": "openai", "name": "gpt-new", "context_window": 1000, "max_output_tokens": 10}
    )

    report = catalog_seed(data=data)

    gpt4o = LlmModel.objects.get(provider_type__slug="openai", name="gpt-4o")
    assert gpt4o.input_price_per_million == Decimal("9.99")
    assert gpt4o.replacement.name == "gpt-4.1"
    assert report.created == 1
    assert report.updated == 1
    assert LlmModel.objects.filter(name="gpt-4o", provider_type__slug="openai").count() == 1


def test_seed_catalog_keeps_pinned_admin_edits_and_rows_not_in_the_file(db):
    catalog_seed()
    LlmModel.objects.filter(name="gpt-4o").update(input_price_per_million=Decimal("1.11"), pinned=True)
    openai = ProviderType.objects.get(slug="openai")
    LlmModel.objects.create(provider_type=openai, name="staff-added", context_window=1, max_output_tokens=1)

    catalog_seed()

    assert LlmModel.objects.get(name="gpt-4o", provider_type=openai).input_price_per_million == Decimal("1.11")
    assert LlmModel.objects.filter(name="staff-added").exists()


def test_seed_catalog_command_reports(db, capsys):
    call_command("seed_catalog")
    call_command("seed_catalog")

    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("Catalog: 0 created, 0 updated")


def test_model_traits_from_the_catalog_and_defaults_for_unknown_models(db):
    catalog_seed()
    model_traits_clear()

    o3 = model_traits(provider_type="openai", model="o3")
    unknown = model_traits(provider_type="openai", model="my-finetune")

    assert o3.known
    assert o3.supports_reasoning_effort
    assert not o3.supports_temperature
    assert not unknown.known
    assert unknown.supports_temperature
    model_traits_clear()


def test_staff_can_edit_the_catalog_in_django_admin(db, apex_client, make_user):
    catalog_seed()
    staff = make_user(is_staff=True, is_superuser=True)
    apex_client.force_login(staff)
    model = LlmModel.objects.get(provider_type__slug="openai", name="gpt-4o")

    pages = [
        apex_client.get("/django-admin/catalog/providertype/"),
        apex_client.get("/django-admin/catalog/llmmodel/"),
        apex_client.get(f"/django-admin/catalog/llmmodel/{model.pk}/change/"),
    ]

    assert [p.status_code for p in pages] == [200, 200, 200]
    assert "gpt-4o" in pages[1].content.decode()

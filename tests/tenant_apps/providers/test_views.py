"""Provider pages: roles, cross-team 404s, masked forms, htmx actions, and no secret in any response."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from tenant_apps.audit.models import AuditEvent
from tenant_apps.providers.models import LlmProvider, MessagingProvider
from tenants.context import tenant_context
from tenants.enums import Role
from tests.factories.providers import (
    META,
    SECRET,
    SLACK_BOT,
    SLACK_SIGNING,
    TELEGRAM_TOKEN,
    TWILIO_TOKEN,
    llm_provider,
    messaging_provider,
)

ALL_SECRETS = [SECRET, TELEGRAM_TOKEN, TWILIO_TOKEN, SLACK_BOT, SLACK_SIGNING, *META.values()]
OPENAI_URL = "https://api.openai.com/v1"


def url(name, *args):
    return reverse(f"providers:{name}", args=args, urlconf="config.urls_tenant")


@pytest.fixture
def owner(team_a, make_member, client_for):
    return client_for(team_a, make_member(team_a, Role.OWNER))


@pytest.fixture
def platforms(settings, fake_llm):
    settings.PLATFORM_API_URLS = {
        "telegram": fake_llm.url,
        "twilio": fake_llm.url,
        "slack": f"{fake_llm.url}/api/",
        "meta_graph": f"{fake_llm.url}/v25.0",
    }
    return fake_llm


def assert_no_secret(response):
    body = response.content.decode()
    for secret in ALL_SECRETS:
        assert secret not in body, f"secret leaked into {response.request['PATH_INFO']}"


# ---------------------------------------------------------------------------------------------------------- pages


def test_list_shows_empty_states_with_add_buttons_for_editors(team, catalog, owner):
    response = owner.get(url("provider_list"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "No LLM providers yet" in body
    assert "No messaging providers yet" in body
    assert url("provider_create", "llm") in body


def test_list_shows_providers_with_masked_credentials(team, catalog, owner):
    llm_provider(base_url=OPENAI_URL, name="OpenAI prod")

    response = owner.get(url("provider_list"))

    body = response.content.decode()
    assert "OpenAI prod" in body
    assert "••••6789" in body
    assert_no_secret(response)


def test_create_starts_with_a_type_choice(team, catalog, owner):
    response = owner.get(url("provider_create", "llm"))

    body = response.content.decode()
    for label in (
        "OpenAI",
        "Azure OpenAI",
        "Anthropic",
        "Groq",
        "DeepSeek",
        "Google Gemini",
        "Mistral",
        "Ollama",
        "vLLM",
        "llama.cpp",
    ):
        assert label in body


@pytest.mark.parametrize(
    ("kind", "type_", "fields"),
    [
        ("llm", "openai", ["api_key", "base_url", "organization"]),
        ("llm", "azure_openai", ["api_key", "azure_endpoint", "deployment", "api_version"]),
        ("llm", "anthropic", ["api_key", "base_url"]),
        ("messaging", "twilio", ["account_sid", "auth_token"]),
        ("messaging", "telegram", ["bot_token"]),
        ("messaging", "meta_cloud_api", ["app_secret", "access_token", "verify_token"]),
        ("messaging", "slack", ["signing_secret", "bot_token"]),
    ],
)
def test_create_form_has_the_types_fields(team, catalog, owner, kind, type_, fields):
    response = owner.get(url("provider_create", kind) + f"?type={type_}")

    body = response.content.decode()
    assert response.status_code == 200
    for field in fields:
        assert f'name="{field}"' in body


def test_create_llm_provider_through_the_form(team, catalog, owner):
    response = owner.post(
        url("provider_create", "llm") + "?type=openai",
        {"type": "openai", "name": "Main", "api_key": SECRET, "base_url": OPENAI_URL, "organization": ""},
    )

    provider = LlmProvider.objects.get(name="Main")
    assert response.status_code == 302
    assert response["Location"] == url("provider_detail", "llm", provider.pk)
    assert provider.credentials.reveal() == {"api_key": SECRET}


def test_create_with_errors_rerenders_without_echoing_the_secret(team, catalog, owner):
    response = owner.post(
        url("provider_create", "llm") + "?type=openai",
        {"type": "openai", "name": "Main", "api_key": SECRET, "base_url": "ftp://nope"},
    )

    assert response.status_code == 200
    assert "Only http:// and https:// URLs are allowed." in response.content.decode()
    assert not LlmProvider.objects.exists()
    assert_no_secret(response)


def test_create_refuses_a_private_base_url_in_production_mode(team, catalog, owner, settings):
    settings.ALLOW_PRIVATE_URLS = False

    response = owner.post(
        url("provider_create", "llm") + "?type=vllm",
        {"type": "vllm", "name": "Sneaky", "base_url": "http://169.254.169.254/latest"},
    )

    assert response.status_code == 200
    assert "private or reserved address" in response.content.decode()
    assert not LlmProvider.objects.exists()


def test_create_messaging_provider_through_the_form(team, owner):
    response = owner.post(
        url("provider_create", "messaging") + "?type=telegram",
        {"type": "telegram", "name": "Bot", "bot_token": TELEGRAM_TOKEN},
    )

    assert response.status_code == 302
    assert MessagingProvider.objects.get(name="Bot").credentials.reveal() == {"bot_token": TELEGRAM_TOKEN}


def test_replace_form_masks_secrets_and_prefills_settings(team, catalog, owner):
    provider = llm_provider(base_url=OPENAI_URL, organization="org-visible")

    response = owner.get(url("provider_replace", "llm", provider.pk))

    body = response.content.decode()
    assert "org-visible" in body
    assert 'placeholder="••••6789"' in body
    assert "Leave blank to keep it" in body
    assert 'type="password"' in body
    assert_no_secret(response)


def test_replace_keeps_blank_secret_and_saves_settings(team, catalog, owner):
    provider = llm_provider(base_url=OPENAI_URL)

    response = owner.post(
        url("provider_replace", "llm", provider.pk), {"api_key": "", "base_url": OPENAI_URL, "organization": "org-2"}
    )

    provider.refresh_from_db()
    assert response.status_code == 302
    assert provider.config["organization"] == "org-2"
    assert provider.credentials.reveal() == {"api_key": SECRET}


def test_rename_and_delete_with_confirmation(team, catalog, owner):
    before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    provider = llm_provider(base_url=OPENAI_URL)

    owner.post(url("provider_rename", "llm", provider.pk), {"name": "Renamed"})
    confirm = owner.get(url("provider_delete", "llm", provider.pk))
    deleted = owner.post(url("provider_delete", "llm", provider.pk))

    assert "Delete “Renamed”?" in confirm.content.decode()
    assert deleted.status_code == 302
    assert not LlmProvider.objects.filter(pk=provider.pk).exists()
    assert list(AuditEvent.objects.filter(id__gt=before).order_by("id").values_list("action", flat=True)) == [
        "provider.created",
        "provider.renamed",
        "provider.deleted",
    ]


def in_use(provider):
    return ["Chatbot “Support”"]


def test_delete_in_use_is_refused_with_what_uses_it(team, catalog, owner, settings):
    settings.PROVIDER_USAGE_CHECKS = ["tests.tenant_apps.providers.test_views.in_use"]
    provider = llm_provider(base_url=OPENAI_URL)

    confirm = owner.get(url("provider_delete", "llm", provider.pk))
    response = owner.post(url("provider_delete", "llm", provider.pk), follow=True)

    assert "Chatbot “Support”" in confirm.content.decode()
    assert "still used by" in response.content.decode()
    assert LlmProvider.objects.filter(pk=provider.pk).exists()


def test_htmx_test_connection_shows_success(team, catalog, owner, fake_llm):
    provider = llm_provider(base_url=fake_llm.openai_base_url)

    response = owner.post(url("provider_test", "llm", provider.pk), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "alert-success" in response.content.decode()


def test_test_connection_offers_the_listed_models_it_does_not_know_yet(team, catalog, owner, fake_llm):
    fake_llm.models = ["llama3.1:8b", "fake-model"]
    provider = llm_provider(base_url=fake_llm.openai_base_url, type="openai_compatible", api_key="")
    provider.custom_models.create(name="fake-model")

    response = owner.post(url("provider_test", "llm", provider.pk), HTTP_HX_REQUEST="true")
    added = owner.post(
        url("llm_model_add", provider.pk), {"name": "llama3.1:8b", "supports_tools": "on"}, HTTP_HX_REQUEST="true"
    )

    content = response.content.decode()
    assert 'data-testid="listed-models"' in content
    assert "llama3.1:8b" in content
    assert content.count('data-testid="add-listed-model"') == 1  # fake-model is already the team's
    assert "llama3.1:8b" in added.content.decode()
    assert set(provider.custom_models.values_list("name", flat=True)) == {"fake-model", "llama3.1:8b"}


def test_custom_openai_compatible_type_is_offered_with_a_required_base_url(team, catalog, owner):
    choice = owner.get(url("provider_create", "llm"))
    form = owner.post(url("provider_create", "llm"), {"type": "openai_compatible", "name": "Gateway", "base_url": ""})

    assert "OpenAI-compatible (custom base URL)" in choice.content.decode()
    assert form.status_code == 200
    assert "This field is required" in form.content.decode()


def test_htmx_custom_model_add_and_remove(team, catalog, owner):
    provider = llm_provider(base_url=OPENAI_URL)

    added = owner.post(
        url("llm_model_add", provider.pk),
        {"name": "ft:gpt-4o:acme", "context_window": "128000", "supports_tools": "on"},
        HTTP_HX_REQUEST="true",
    )
    model = provider.custom_models.get()
    removed = owner.post(url("llm_model_delete", provider.pk, model.pk), HTTP_HX_REQUEST="true")

    assert "ft:gpt-4o:acme" in added.content.decode()
    assert "ft:gpt-4o:acme" not in removed.content.decode()
    assert not provider.custom_models.exists()


def test_llm_options_lists_providers_with_team_and_catalog_models(team, catalog, owner):
    provider = llm_provider(base_url=OPENAI_URL)
    provider.custom_models.create(name="my-finetune")

    response = owner.get(url("llm_options"))

    data = response.json()["providers"][0]
    names = [m["name"] for m in data["models"]]
    assert data["id"] == provider.pk
    assert names[0] == "my-finetune"
    assert "gpt-4.1-mini" in names
    assert "gpt-3.5-turbo" not in names  # deprecated models are not offered
    assert_no_secret(response)


# ---------------------------------------------------------------------------------------------------------- secrets


def test_no_secret_in_any_provider_page_api_or_htmx_response(team, catalog, owner, platforms):
    llm = llm_provider(base_url=platforms.openai_base_url)
    messaging = [messaging_provider(type=t) for t in ("twilio", "telegram", "meta_cloud_api", "slack")]
    platforms.api_key = "the-right-key-is-something-else"  # every test connection fails; the fake echoes keys back
    pages = [
        url("provider_list"),
        url("provider_create", "llm"),
        url("provider_create", "messaging"),
        url("llm_options"),
    ]
    for provider in [llm, *messaging]:
        kind = provider.kind
        pages += [
            url("provider_detail", kind, provider.pk),
            url("provider_replace", kind, provider.pk),
            url("provider_rename", kind, provider.pk),
            url("provider_delete", kind, provider.pk),
        ]
    for type_ in ("openai", "anthropic", "azure_openai"):
        pages.append(url("provider_create", "llm") + f"?type={type_}")
    for type_ in ("twilio", "telegram", "meta_cloud_api", "slack"):
        pages.append(url("provider_create", "messaging") + f"?type={type_}")

    responses = [owner.get(page) for page in pages]
    tests = [owner.post(url("provider_test", p.kind, p.pk), HTTP_HX_REQUEST="true") for p in [llm, *messaging]]
    bad_replace = owner.post(url("provider_replace", "llm", llm.pk), {"api_key": SECRET, "base_url": "ftp://x"})

    assert all(r.status_code == 200 for r in responses)
    assert all("alert-error" in r.content.decode() for r in tests)
    for response in [*responses, *tests, bad_replace]:
        assert_no_secret(response)
    audit = json.dumps(list(AuditEvent.objects.values("data", "target_label")))
    for secret in ALL_SECRETS:
        assert secret not in audit


# ---------------------------------------------------------------------------------------------------------- access


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN, Role.OWNER])
def test_every_member_can_read(team, catalog, make_member, client_for, role):
    provider = llm_provider(base_url=OPENAI_URL)
    client = client_for(team, make_member(team, role))

    for page in (url("provider_list"), url("provider_detail", "llm", provider.pk), url("llm_options")):
        assert client.get(page).status_code == 200


def test_viewer_sees_no_edit_buttons_and_cannot_write(team, catalog, make_member, client_for):
    provider = llm_provider(base_url=OPENAI_URL)
    viewer = client_for(team, make_member(team, Role.VIEWER))

    detail = viewer.get(url("provider_detail", "llm", provider.pk)).content.decode()
    writes = [
        viewer.get(url("provider_create", "llm")),
        viewer.post(
            url("provider_create", "llm") + "?type=openai", {"name": "X", "api_key": "k" * 20, "base_url": OPENAI_URL}
        ),
        viewer.get(url("provider_replace", "llm", provider.pk)),
        viewer.post(url("provider_rename", "llm", provider.pk), {"name": "Y"}),
        viewer.post(url("provider_delete", "llm", provider.pk)),
        viewer.post(url("provider_test", "llm", provider.pk)),
        viewer.post(url("llm_model_add", provider.pk), {"name": "m"}),
    ]

    assert "Replace credentials" not in detail
    assert "Test connection" not in detail
    assert [w.status_code for w in writes] == [404] * len(writes)
    assert LlmProvider.objects.get(pk=provider.pk).name == "Test LLM"
    assert LlmProvider.objects.count() == 1


def test_editor_can_manage(team, catalog, make_member, client_for):
    editor = client_for(team, make_member(team, Role.EDITOR))

    response = editor.post(
        url("provider_create", "llm") + "?type=openai",
        {"type": "openai", "name": "Ed", "api_key": SECRET, "base_url": OPENAI_URL},
    )

    assert response.status_code == 302


def test_another_teams_provider_answers_404_on_every_endpoint(team_a, team_b, catalog, owner):
    with tenant_context(team_b):
        other_llm = llm_provider(base_url=OPENAI_URL, name="B's")
        other_model = other_llm.custom_models.create(name="b-model")
        other_bot = messaging_provider(type="telegram")
    requests = []
    for provider in (other_llm, other_bot):
        kind = provider.kind
        requests += [
            ("get", url("provider_detail", kind, provider.pk)),
            ("get", url("provider_replace", kind, provider.pk)),
            ("post", url("provider_replace", kind, provider.pk)),
            ("get", url("provider_rename", kind, provider.pk)),
            ("post", url("provider_rename", kind, provider.pk)),
            ("get", url("provider_delete", kind, provider.pk)),
            ("post", url("provider_delete", kind, provider.pk)),
            ("post", url("provider_test", kind, provider.pk)),
        ]
    requests += [
        ("post", url("llm_model_add", other_llm.pk)),
        ("post", url("llm_model_delete", other_llm.pk, other_model.pk)),
    ]

    with tenant_context(team_a):
        codes = {path: getattr(owner, method)(path).status_code for method, path in requests}

    assert set(codes.values()) == {404}, codes
    with tenant_context(team_b):
        assert LlmProvider.objects.filter(pk=other_llm.pk).exists()
        assert other_llm.custom_models.filter(pk=other_model.pk).exists()


def test_unknown_kind_is_404(team, owner):
    assert owner.get("/providers/voice/new/").status_code == 404
    assert owner.get("/providers/nope/1/").status_code == 404


def test_list_page_queries_do_not_grow_with_providers(team, catalog, owner, django_assert_max_num_queries):
    for index in range(5):
        llm_provider(base_url=OPENAI_URL, name=f"P{index}", type="groq")
        messaging_provider(type="telegram", name=f"T{index}")

    with django_assert_max_num_queries(7):  # session, user, membership, catalog types, two lists
        response = owner.get(url("provider_list"))

    assert response.content.decode().count("Groq") >= 5

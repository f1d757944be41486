"""Which fields each provider type has: the one declaration forms, validation, hints and checks all read.

LLM types come from the global catalog (``shared_apps.catalog.ProviderType``: name, API family, default base
URL); their fields follow the API family. Messaging types are fixed here. A new kind (voice, tracing) adds a
table in ``models.KIND_MODELS`` and its specs below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared_apps.catalog.enums import LlmApi
from shared_apps.catalog.models import ProviderType
from shared_apps.catalog.selectors import provider_type_get, provider_type_list
from tenant_apps.providers.enums import MessagingType, ProviderKind

AZURE_DEFAULT_API_VERSION = "2024-10-21"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""
    placeholder: str = ""
    input: Literal["text", "url", "password"] = "text"
    pattern: str | None = None  # full-match regular expression
    pattern_message: str = ""
    default: str = ""
    # Where the secrets are sent: changing it requires entering the secrets again (no key follows a new URL).
    endpoint: bool = False


@dataclass(frozen=True)
class TypeSpec:
    kind: ProviderKind
    slug: str
    label: str
    description: str = ""
    docs_url: str = ""
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    api: str = ""  # LLM types: the LlmApi family

    @property
    def settings_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if not f.secret)

    @property
    def secret_fields(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.secret)


def _llm_fields(provider_type: ProviderType) -> tuple[FieldSpec, ...]:
    api_key = FieldSpec(
        "api_key",
        "API key",
        secret=True,
        required=provider_type.api_key_required,
        input="password",
        help="" if provider_type.api_key_required else "Only if your server asks for one.",
    )
    if provider_type.api == LlmApi.AZURE_OPENAI:
        return (
            api_key,
            FieldSpec(
                "azure_endpoint",
                "Azure endpoint",
                input="url",
                placeholder="https://my-resource.openai.azure.com",
                endpoint=True,
            ),
            FieldSpec(
                "deployment",
                "Deployment",
                required=False,
                help="Leave blank to use the model name as the deployment name.",
            ),
            FieldSpec("api_version", "API version", default=AZURE_DEFAULT_API_VERSION, pattern=r"\d{4}-\d{2}-\d{2}.*"),
        )
    fields = [
        api_key,
        FieldSpec(
            "base_url",
            "Base URL",
            input="url",
            required=provider_type.base_url_required or provider_type.api == LlmApi.OPENAI,
            default=provider_type.default_base_url,
            placeholder=provider_type.default_base_url or "https://my-server.example.com/v1",
            endpoint=True,
        ),
    ]
    if provider_type.supports_organization:
        fields.append(FieldSpec("organization", "Organization ID", required=False, placeholder="org-…"))
    return tuple(fields)


def llm_type_spec(provider_type: ProviderType) -> TypeSpec:
    return TypeSpec(
        kind=ProviderKind.LLM,
        slug=provider_type.slug,
        label=provider_type.name,
        description=provider_type.description,
        docs_url=provider_type.docs_url,
        fields=_llm_fields(provider_type),
        api=provider_type.api,
    )


MESSAGING_SPECS: dict[str, TypeSpec] = {
    MessagingType.TWILIO: TypeSpec(
        kind=ProviderKind.MESSAGING,
        slug=MessagingType.TWILIO,
        label="Twilio",
        description="WhatsApp and SMS through your Twilio account.",
        docs_url="https://www.twilio.com/docs/usage/api",
        fields=(
            FieldSpec(
                "account_sid",
                "Account SID",
                placeholder="AC…",
                pattern=r"AC[0-9a-fA-F]{32}",
                pattern_message="An account SID is “AC” followed by 32 hexadecimal characters.",
            ),
            FieldSpec("auth_token", "Auth token", secret=True, input="password", pattern=r"\S{16,}"),
        ),
    ),
    MessagingType.TELEGRAM: TypeSpec(
        kind=ProviderKind.MESSAGING,
        slug=MessagingType.TELEGRAM,
        label="Telegram",
        description="A Telegram bot created with @BotFather.",
        docs_url="https://core.telegram.org/bots/api",
        fields=(
            FieldSpec(
                "bot_token",
                "Bot token",
                secret=True,
                input="password",
                pattern=r"\d{3,}:[A-Za-z0-9_-]{20,}",
                pattern_message="A bot token looks like 123456789:AA… (as @BotFather shows it).",
            ),
        ),
    ),
    MessagingType.META_CLOUD_API: TypeSpec(
        kind=ProviderKind.MESSAGING,
        slug=MessagingType.META_CLOUD_API,
        label="Meta (WhatsApp Cloud API)",
        description="WhatsApp through Meta's Cloud API with your Meta app.",
        docs_url="https://developers.facebook.com/docs/whatsapp/cloud-api",
        fields=(
            FieldSpec("app_secret", "App secret", secret=True, input="password", pattern=r"\S{16,}"),
            FieldSpec("access_token", "Access token", secret=True, input="password", pattern=r"\S{20,}"),
            FieldSpec(
                "verify_token",
                "Webhook verify token",
                secret=True,
                input="password",
                pattern=r"\S{8,}",
                pattern_message="Use at least 8 characters.",
                help="Any string you choose; enter the same one in Meta's webhook settings.",
            ),
        ),
    ),
    MessagingType.SLACK: TypeSpec(
        kind=ProviderKind.MESSAGING,
        slug=MessagingType.SLACK,
        label="Slack",
        description="A Slack app installed in your workspace.",
        docs_url="https://api.slack.com/apps",
        fields=(
            FieldSpec("signing_secret", "Signing secret", secret=True, input="password", pattern=r"[0-9a-fA-F]{16,}"),
            FieldSpec(
                "bot_token",
                "Bot token",
                secret=True,
                input="password",
                pattern=r"xoxb-[A-Za-z0-9-]+",
                pattern_message="A bot token starts with “xoxb-”.",
            ),
        ),
    ),
}


def type_spec(kind: ProviderKind | str, slug: str) -> TypeSpec | None:
    """The spec of type ``slug`` of ``kind``, or None when it does not exist (or the catalog disabled it)."""
    if kind == ProviderKind.LLM:
        provider_type = provider_type_get(slug=slug)
        return llm_type_spec(provider_type) if provider_type is not None else None
    if kind == ProviderKind.MESSAGING:
        return MESSAGING_SPECS.get(slug)
    return None


def type_specs(kind: ProviderKind | str) -> list[TypeSpec]:
    """The types a team may add, in display order."""
    if kind == ProviderKind.LLM:
        return [llm_type_spec(t) for t in provider_type_list()]
    if kind == ProviderKind.MESSAGING:
        return list(MESSAGING_SPECS.values())
    return []


def type_label(kind: ProviderKind | str, slug: str) -> str:
    if kind == ProviderKind.MESSAGING:
        return MessagingType(slug).label if slug in MessagingType.values else slug
    provider_type = provider_type_get(slug=slug)
    return provider_type.name if provider_type else slug

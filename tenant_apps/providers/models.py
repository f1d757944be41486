"""A team's service providers: the credentials its chatbots use for LLMs and messaging platforms (ADR 0022).

Non-secret settings (base URL, Azure endpoint, Twilio account SID ...) are plain JSON in ``config``; secrets are
one encrypted JSON object in ``credentials`` (``shared_apps.core.fields.EncryptedJSONField``), readable only
through ``credentials.reveal()``. ``credential_hints`` holds the masked form shown in forms ("••••abcd"), so
pages never decrypt anything. Which fields a type has is declared in ``specs``.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from shared_apps.catalog.enums import LlmApi
from shared_apps.core.fields import EncryptedJSONField, user_reference
from tenant_apps.providers.enums import MessagingType, ProviderKind


class ProviderBase(models.Model):
    kind: ClassVar[ProviderKind]

    name = models.CharField(max_length=100)
    type = models.CharField(max_length=40)
    config = models.JSONField(default=dict, blank=True)
    credentials = EncryptedJSONField()
    credential_hints = models.JSONField(default=dict, blank=True)
    # Users live in public: deleting one must not reach into every team schema, so no cascade and no constraint.
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)  # part of the LLM client cache key: any change rebuilds it
    credentials_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LlmProvider(ProviderBase):
    kind = ProviderKind.LLM

    # Copied from the catalog's provider type when created, so building a client never needs the catalog.
    api = models.CharField(max_length=20, choices=LlmApi.choices, default=LlmApi.OPENAI)

    class Meta(ProviderBase.Meta):
        constraints = [models.UniqueConstraint(fields=["name"], name="llmprovider_unique_name")]


class MessagingProvider(ProviderBase):
    kind = ProviderKind.MESSAGING

    type = models.CharField(max_length=40, choices=MessagingType.choices)

    class Meta(ProviderBase.Meta):
        constraints = [models.UniqueConstraint(fields=["name"], name="messagingprovider_unique_name")]


class LlmProviderModel(models.Model):
    """A model name the team uses on one of its providers that the global catalog does not list (a fine-tune,
    a model on its own vLLM/Ollama/llama.cpp server, an Azure deployment)."""

    provider = models.ForeignKey(LlmProvider, on_delete=models.CASCADE, related_name="custom_models")
    name = models.CharField(max_length=120)
    context_window = models.PositiveIntegerField(null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    supports_tools = models.BooleanField(default=True)
    supports_vision = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["provider", "name"], name="llmprovidermodel_unique_name")]

    def __str__(self) -> str:
        return self.name


KIND_MODELS: dict[ProviderKind, type[ProviderBase]] = {
    ProviderKind.LLM: LlmProvider,
    ProviderKind.MESSAGING: MessagingProvider,
}

"""The global LLM catalog (public schema): which provider types exist and which models they offer, with limits
and prices. Seeded from ``data/catalog.json`` by ``manage.py seed_catalog``; staff edit it in the admin.

Teams never write here. Their own model names for compatible endpoints live in ``tenant_apps.providers``.
"""

from __future__ import annotations

from django.db import models

from shared_apps.catalog.enums import LlmApi


class ProviderType(models.Model):
    slug = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=80)
    api = models.CharField(max_length=20, choices=LlmApi.choices, default=LlmApi.OPENAI)
    description = models.CharField(max_length=300, blank=True)
    default_base_url = models.URLField(blank=True, help_text="Pre-filled when a team adds a provider of this type.")
    base_url_required = models.BooleanField(default=False, help_text="Self-hosted servers: the team must give one.")
    api_key_required = models.BooleanField(default=True)
    supports_organization = models.BooleanField(default=False)
    docs_url = models.URLField(blank=True)
    sort_order = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True, help_text="Inactive types are not offered to teams.")
    pinned = models.BooleanField(default=False, help_text="Keep admin edits: seed_catalog will not overwrite.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class LlmModel(models.Model):
    provider_type = models.ForeignKey(ProviderType, on_delete=models.CASCADE, related_name="models")
    name = models.CharField(max_length=120, help_text="The id sent to the API, e.g. gpt-4.1-mini.")
    display_name = models.CharField(max_length=120, blank=True)
    context_window = models.PositiveIntegerField(help_text="Tokens of input + output the model accepts.")
    max_output_tokens = models.PositiveIntegerField()
    supports_tools = models.BooleanField(default=True)
    supports_vision = models.BooleanField(default=False)
    supports_streaming = models.BooleanField(default=True)
    supports_reasoning_effort = models.BooleanField(default=False)
    supports_temperature = models.BooleanField(default=True, help_text="Reasoning models reject a temperature.")
    input_price_per_million = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    output_price_per_million = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    cached_input_price_per_million = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    is_default = models.BooleanField(default=False, help_text="Suggested first choice for this provider type.")
    deprecated = models.BooleanField(default=False)
    replacement = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces", help_text="Use instead."
    )
    pinned = models.BooleanField(default=False, help_text="Keep admin edits: seed_catalog will not overwrite.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["provider_type__sort_order", "deprecated", "-is_default", "name"]
        constraints = [models.UniqueConstraint(fields=["provider_type", "name"], name="catalog_model_unique_name")]

    def __str__(self) -> str:
        return self.display_name or self.name

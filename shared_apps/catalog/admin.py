from django.contrib import admin

from shared_apps.catalog.models import LlmModel, ProviderType


@admin.register(ProviderType)
class ProviderTypeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "slug", "api", "default_base_url", "is_active", "pinned", "sort_order")
    list_filter = ("api", "is_active", "pinned")
    search_fields = ("name", "slug")
    ordering = ("sort_order", "name")


@admin.register(LlmModel)
class LlmModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "provider_type",
        "context_window",
        "max_output_tokens",
        "input_price_per_million",
        "output_price_per_million",
        "cached_input_price_per_million",
        "supports_tools",
        "supports_vision",
        "deprecated",
        "pinned",
    )
    list_filter = ("provider_type", "deprecated", "supports_tools", "supports_vision", "pinned")
    search_fields = ("name", "display_name")
    autocomplete_fields = ("replacement",)
    list_select_related = ("provider_type",)

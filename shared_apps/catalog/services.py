"""Writes to the catalog. Only ``catalog_seed`` writes in code; staff edit rows in the admin."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from shared_apps.catalog.models import LlmModel, ProviderType

DATA_FILE = Path(__file__).resolve().parent / "data" / "catalog.json"

TYPE_FIELDS = (
    "name",
    "api",
    "description",
    "default_base_url",
    "base_url_required",
    "api_key_required",
    "supports_organization",
    "docs_url",
    "sort_order",
    "is_active",
)
MODEL_FIELDS = (
    "display_name",
    "context_window",
    "max_output_tokens",
    "supports_tools",
    "supports_vision",
    "supports_streaming",
    "supports_reasoning_effort",
    "supports_temperature",
    "input_price_per_million",
    "output_price_per_million",
    "cached_input_price_per_million",
    "is_default",
    "deprecated",
)
PRICE_FIELDS = {"input_price_per_million", "output_price_per_million", "cached_input_price_per_million"}


@dataclass
class SeedReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    pinned: int = 0


def _values(entry: dict[str, Any], fields: tuple[str, ...], model: type[models.Model]) -> dict[str, Any]:
    """The entry's values for ``fields``; missing keys take the model field's default (so removals apply too)."""
    values = {}
    for name in fields:
        if name in entry:
            value = entry[name]
            if name in PRICE_FIELDS and value is not None:
                value = Decimal(str(value))
        else:
            model_field = model._meta.get_field(name)
            assert isinstance(model_field, models.Field)
            value = model_field.get_default()
        values[name] = value
    return values


def _apply(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


@transaction.atomic
def catalog_seed(*, data: dict[str, Any] | None = None) -> SeedReport:
    """Create or update provider types and models from the data file. Safe to re-run: rows are matched by
    provider slug and model name, changed values are updated, nothing is duplicated or deleted, and rows staff
    pinned in the admin are left alone. A handful of queries whatever the catalog size.
    """
    data = data if data is not None else json.loads(DATA_FILE.read_text())
    report = SeedReport()

    types = {t.slug: t for t in ProviderType.objects.select_for_update()}
    new_types: list[ProviderType] = []
    changed_types: list[ProviderType] = []
    for entry in data["provider_types"]:
        values = _values(entry, TYPE_FIELDS, ProviderType)
        existing_type = types.get(entry["slug"])
        if existing_type is None:
            types[entry["slug"]] = new_type = ProviderType(slug=entry["slug"], **values)
            new_types.append(new_type)
        elif existing_type.pinned:
            report.pinned += 1
        elif _apply(existing_type, values):
            changed_types.append(existing_type)
        else:
            report.unchanged += 1
    ProviderType.objects.bulk_create(new_types)
    for changed_type in changed_types:
        changed_type.updated_at = timezone.now()
    if changed_types:
        ProviderType.objects.bulk_update(changed_types, [*TYPE_FIELDS, "updated_at"])
    report.created += len(new_types)
    report.updated += len(changed_types)

    models = {(m.provider_type.slug, m.name): m for m in LlmModel.objects.select_related("provider_type")}
    new_models: list[LlmModel] = []
    dirty: dict[int, LlmModel] = {}  # id(obj) -> obj: existing rows whose values changed
    seeded: list[tuple[dict[str, Any], LlmModel]] = []
    for entry in data["models"]:
        key = (entry["provider_type"], entry["name"])
        values = _values(entry, MODEL_FIELDS, LlmModel)
        existing = models.get(key)
        if existing is None:
            models[key] = obj = LlmModel(provider_type=types[key[0]], name=key[1], **values)
            new_models.append(obj)
        elif existing.pinned:
            report.pinned += 1
            continue
        elif _apply(existing, values):
            dirty[id(existing)] = existing
        seeded.append((entry, models[key]))
    LlmModel.objects.bulk_create(new_models)

    # Replacements point at rows that may only exist now, so they are set in a second pass.
    new_ids = {id(obj) for obj in new_models}
    late: list[LlmModel] = []
    for entry, obj in seeded:
        target = entry.get("replacement")
        replacement = models.get((entry["provider_type"], target)) if target else None
        if obj.replacement_id != (replacement.pk if replacement else None):
            obj.replacement = replacement
            if id(obj) in new_ids:
                late.append(obj)
            else:
                dirty[id(obj)] = obj
    now = timezone.now()
    for obj in dirty.values():
        obj.updated_at = now
    if dirty or late:
        LlmModel.objects.bulk_update([*dirty.values(), *late], [*MODEL_FIELDS, "replacement", "updated_at"])
    report.created += len(new_models)
    report.updated += len(dirty)
    report.unchanged += len(seeded) - len(new_models) - len(dirty)
    return report

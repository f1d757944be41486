"""Writes to the team's providers. Views, commands and the demo hook call these; nothing else writes.

Every write validates against the type's ``specs.TypeSpec`` and raises ``ProviderValidationError`` with one
message per field. Secrets are sealed on assignment (``EncryptedJSONField``) and only their masked hints are kept
in the clear. Audit events carry names, never values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.debug import sensitive_variables

from shared_apps.catalog.enums import LlmApi
from shared_apps.core.http import UnsafeUrlError, validate_public_url
from tenant_apps.audit.services import audit_record
from tenant_apps.providers.enums import ProviderKind
from tenant_apps.providers.exceptions import ProviderInUseError, ProviderValidationError
from tenant_apps.providers.models import KIND_MODELS, LlmProvider, LlmProviderModel, ProviderBase
from tenant_apps.providers.specs import TypeSpec, type_spec

NAME_MAX = 100
MODEL_NAME_RE = re.compile(r"^[\w.:/@+-]{1,120}$")


def mask(value: str) -> str:
    """What a form may show of a secret: its last four characters when it is long enough to stay secret."""
    return f"••••{value[-4:]}" if len(value) >= 12 else "••••••••"


def _invalid(fields: dict[str, str], message: str = "Check the highlighted fields.") -> ProviderValidationError:
    return ProviderValidationError(code="provider.invalid", message=message, extra={"fields": fields})


def _clean_name(name: str, *, model: type[ProviderBase], exclude_pk: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise _invalid({"name": "Give the provider a name."})
    if len(name) > NAME_MAX:
        raise _invalid({"name": f"Use at most {NAME_MAX} characters."})
    taken = model._default_manager.filter(name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise _invalid({"name": f"There is already a provider called “{name}”."})
    return name


@sensitive_variables("secrets", "current_secrets", "merged", "value")
def _clean_fields(
    spec: TypeSpec,
    *,
    config: Mapping[str, Any],
    secrets: Mapping[str, Any],
    current: ProviderBase | None = None,
) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(settings, secrets, names of secrets entered): validated against the spec.

    On a replace (``current`` given) a blank secret keeps the stored one, unless an endpoint field changed: a key
    is never sent to a new address without being entered again.
    """
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for field in spec.settings_fields:
        value = str(config.get(field.name) or "").strip()
        if not value:
            if field.required:
                errors[field.name] = "This field is required."
            continue
        if field.pattern and not re.fullmatch(field.pattern, value):
            errors[field.name] = field.pattern_message or "This value does not look right."
            continue
        if field.input == "url":
            try:
                validate_public_url(value)
            except UnsafeUrlError as exc:
                errors[field.name] = exc.message
                continue
        cleaned[field.name] = value

    current_secrets = current.credentials.reveal() if current is not None else {}
    endpoint_changed = current is not None and any(
        cleaned.get(f.name, "") != str(current.config.get(f.name) or "") for f in spec.settings_fields if f.endpoint
    )
    merged: dict[str, str] = {}
    entered: list[str] = []
    for field in spec.secret_fields:
        value = str(secrets.get(field.name) or "").strip()
        if value:
            if field.pattern and not re.fullmatch(field.pattern, value):
                errors[field.name] = field.pattern_message or "This value does not look right."
                continue
            merged[field.name] = value
            entered.append(field.name)
        elif current_secrets.get(field.name) and not endpoint_changed:
            merged[field.name] = current_secrets[field.name]
        elif current_secrets.get(field.name) and endpoint_changed:
            errors[field.name] = "The address changed: enter this again so it is not sent somewhere new unasked."
        elif field.required:
            errors[field.name] = "This field is required."
    if errors:
        raise _invalid(errors)
    return cleaned, merged, entered


def _hints(secrets: Mapping[str, str]) -> dict[str, str]:
    return {name: mask(value) for name, value in secrets.items() if value}


@sensitive_variables("secrets", "clean_secrets")
@transaction.atomic
def provider_create(
    *,
    kind: ProviderKind,
    type: str,
    name: str,
    config: Mapping[str, Any],
    secrets: Mapping[str, Any],
    user: Any | None = None,
) -> ProviderBase:
    """Add a provider of ``kind``/``type`` (slug) to the active team. URLs pass ``validate_public_url``."""
    model = KIND_MODELS.get(ProviderKind(kind))
    spec = type_spec(kind, type)
    if model is None or spec is None:
        raise _invalid({"type": "Choose one of the listed provider types."})
    clean_name = _clean_name(name, model=model)
    clean_config, clean_secrets, entered = _clean_fields(spec, config=config, secrets=secrets)
    provider = model(
        name=clean_name,
        type=spec.slug,
        config=clean_config,
        credentials=clean_secrets,
        credential_hints=_hints(clean_secrets),
        created_by=user if getattr(user, "is_authenticated", False) else None,
        credentials_updated_at=timezone.now(),
    )
    if isinstance(provider, LlmProvider):
        provider.api = spec.api or LlmApi.OPENAI
    try:
        with transaction.atomic():
            provider.save()
    except IntegrityError as exc:
        raise _invalid({"name": f"There is already a provider called “{clean_name}”."}) from exc
    audit_record(
        actor=user,
        action="provider.created",
        target=provider,
        data={"kind": str(kind), "type": spec.slug, "name": clean_name, "secrets": entered},
    )
    return provider


@sensitive_variables("secrets", "clean_secrets")
@transaction.atomic
def provider_replace_credentials(
    *, provider: ProviderBase, config: Mapping[str, Any], secrets: Mapping[str, Any], user: Any | None = None
) -> ProviderBase:
    """Replace the settings and (some of) the secrets. Blank secrets keep the stored value unless the endpoint
    changed. Any change gives the provider a new ``updated_at``, so cached SDK clients are rebuilt."""
    provider = type(provider)._default_manager.select_for_update().get(pk=provider.pk)
    spec = type_spec(provider.kind, provider.type)
    if spec is None:
        raise _invalid({"type": "This provider type is no longer offered; add a new provider instead."})
    clean_config, clean_secrets, entered = _clean_fields(spec, config=config, secrets=secrets, current=provider)
    changed_settings = sorted(
        k for k in {*clean_config, *provider.config} if clean_config.get(k) != provider.config.get(k)
    )
    provider.config = clean_config
    provider.credentials = clean_secrets
    provider.credential_hints = _hints(clean_secrets)
    if entered:
        provider.credentials_updated_at = timezone.now()
    provider.save()
    audit_record(
        actor=user,
        action="provider.credentials_replaced",
        target=provider,
        data={"kind": str(provider.kind), "type": provider.type, "secrets": entered, "settings": changed_settings},
    )
    return provider


@transaction.atomic
def provider_rename(*, provider: ProviderBase, name: str, user: Any | None = None) -> ProviderBase:
    old = provider.name
    clean_name = _clean_name(name, model=type(provider), exclude_pk=provider.pk)
    if clean_name == old:
        return provider
    provider.name = clean_name
    provider.save(update_fields=["name", "updated_at"])
    audit_record(
        actor=user,
        action="provider.renamed",
        target=provider,
        data={"kind": str(provider.kind), "from": old, "to": clean_name},
    )
    return provider


def provider_usages(*, provider: ProviderBase) -> list[str]:
    """What still uses ``provider`` (from the apps registered in ``settings.PROVIDER_USAGE_CHECKS``)."""
    found: list[str] = []
    for path in settings.PROVIDER_USAGE_CHECKS:
        found.extend(import_string(path)(provider))
    return found


@transaction.atomic
def provider_delete(*, provider: ProviderBase, user: Any | None = None) -> None:
    """Delete a provider nothing uses. Refused (``provider.in_use``) while a chatbot, pipeline or channel refers
    to it; database references that protect it are refused the same way."""
    used_by = provider_usages(provider=provider)
    if used_by:
        raise ProviderInUseError(
            code="provider.in_use",
            message=f"“{provider.name}” is still used by: {', '.join(used_by)}.",
            extra={"used_by": used_by},
        )
    name, pk = provider.name, provider.pk
    try:
        with transaction.atomic():
            provider.delete()
    except ProtectedError as exc:
        used = sorted({str(obj) for obj in exc.protected_objects})[:10]
        raise ProviderInUseError(
            code="provider.in_use", message=f"“{name}” is still in use.", extra={"used_by": used}
        ) from exc
    audit_record(
        actor=user,
        action="provider.deleted",
        target=None,
        data={"kind": str(provider.kind), "type": provider.type, "name": name, "id": pk},
    )


@transaction.atomic
def llm_provider_model_add(
    *,
    provider: LlmProvider,
    name: str,
    context_window: int | None = None,
    max_output_tokens: int | None = None,
    supports_tools: bool = True,
    supports_vision: bool = False,
    user: Any | None = None,
) -> LlmProviderModel:
    """Register a model name the catalog does not list (a local model, a fine-tune, an Azure deployment)."""
    name = (name or "").strip()
    if not MODEL_NAME_RE.match(name):
        raise _invalid({"name": "Use the model id exactly as the API expects it (letters, digits, . : / @ + - _)."})
    for label, value in (("context_window", context_window), ("max_output_tokens", max_output_tokens)):
        if value is not None and not 1 <= value <= 100_000_000:
            raise _invalid({label: "Enter a positive number of tokens."})
    if provider.custom_models.filter(name=name).exists():
        raise _invalid({"name": f"“{name}” is already listed for this provider."})
    model = LlmProviderModel.objects.create(
        provider=provider,
        name=name,
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        supports_tools=supports_tools,
        supports_vision=supports_vision,
    )
    audit_record(actor=user, action="provider.model_added", target=provider, data={"model": name})
    return model


@transaction.atomic
def llm_provider_model_delete(*, model: LlmProviderModel, user: Any | None = None) -> None:
    provider, name = model.provider, model.name
    model.delete()
    audit_record(actor=user, action="provider.model_removed", target=provider, data={"model": name})

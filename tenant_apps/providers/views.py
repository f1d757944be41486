"""Pages for the team's service providers (htmx). Thin adapters over ``services``/``selectors``/``checks``.

Viewers see lists and details (never a secret: only masked hints exist outside the encrypted field); editors and
above create, replace credentials, rename, delete and test. Objects are looked up in the active team's schema,
so another team's id is simply not found (404).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tenant_apps.providers import checks, selectors, services
from tenant_apps.providers.enums import ProviderKind
from tenant_apps.providers.exceptions import ProviderInUseError, ProviderNotFoundError, ProviderValidationError
from tenant_apps.providers.forms import CustomModelForm, ProviderForm, RenameForm
from tenant_apps.providers.local_model import local_model_status
from tenant_apps.providers.models import KIND_MODELS, LlmProvider, ProviderBase
from tenant_apps.providers.specs import TypeSpec, type_label, type_spec, type_specs
from tenants.access import members
from tenants.enums import Role

KIND_TITLES = {ProviderKind.LLM: "LLM providers", ProviderKind.MESSAGING: "Messaging providers"}
KIND_NOUNS = {ProviderKind.LLM: "LLM provider", ProviderKind.MESSAGING: "messaging provider"}


def _kind(kind: str) -> ProviderKind:
    if kind not in ProviderKind.values or ProviderKind(kind) not in KIND_MODELS:
        raise Http404("Unknown provider kind")
    return ProviderKind(kind)


def _provider(kind: str, pk: int) -> ProviderBase:
    try:
        return selectors.provider_get(kind=_kind(kind), provider_id=pk)
    except ProviderNotFoundError as exc:
        raise Http404("Provider not found") from exc


def _field_errors(exc: ProviderValidationError) -> dict[str, str]:
    fields = exc.extra.get("fields")
    return {str(k): str(v) for k, v in fields.items()} if isinstance(fields, dict) else {}


def _can_edit(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role_enum.at_least(Role.EDITOR)


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {"can_edit": _can_edit(request), **extra}


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _row(provider: ProviderBase, labels: dict[str, str] | None = None) -> dict[str, Any]:
    label = labels.get(provider.type) if labels is not None else None
    return {
        "provider": provider,
        "kind": provider.kind,
        "type_label": label or type_label(provider.kind, provider.type),
        "hints": provider.credential_hints,
    }


@members(Role.VIEWER)
@require_GET
def provider_list_view(request: HttpRequest) -> HttpResponse:
    labels = {t.slug: t.label for kind in KIND_TITLES for t in type_specs(kind)}  # one catalog query, not one per row
    sections = []
    for kind, title in KIND_TITLES.items():
        rows = [_row(p, labels) for p in KIND_MODELS[kind]._default_manager.order_by("name")]
        sections.append({"kind": kind, "title": title, "noun": KIND_NOUNS[kind], "rows": rows})
    return render(request, "providers/provider_list.html", _context(request, sections=sections))


@members(Role.EDITOR)
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def provider_create_view(request: HttpRequest, kind: str) -> HttpResponse:
    provider_kind = _kind(kind)
    slug = request.GET.get("type") or request.POST.get("type") or ""
    spec = type_spec(provider_kind, slug) if slug else None
    if spec is None:
        return render(
            request,
            "providers/provider_type_choice.html",
            _context(request, kind=provider_kind, noun=KIND_NOUNS[provider_kind], specs=type_specs(provider_kind)),
        )
    form = ProviderForm(spec, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            provider = services.provider_create(
                kind=provider_kind,
                type=spec.slug,
                name=form.cleaned_data["name"],
                config=form.settings_values(),
                secrets=form.secret_values(),
                user=request.user,
            )
        except ProviderValidationError as exc:
            form.add_service_errors(_field_errors(exc), exc.message)
        else:
            messages.success(request, f"Added “{provider.name}”. Use “Test connection” to check it works.")
            return _redirect(request, reverse("providers:provider_detail", args=[provider_kind, provider.pk]))
    return render(request, "providers/provider_form.html", _form_context(request, provider_kind, spec, form, None))


def _form_context(
    request: HttpRequest, kind: ProviderKind, spec: TypeSpec, form: ProviderForm, provider: ProviderBase | None
) -> dict[str, Any]:
    return _context(request, kind=kind, noun=KIND_NOUNS[kind], spec=spec, form=form, provider=provider)


@members(Role.VIEWER)
@require_GET
def provider_detail_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    provider = _provider(kind, pk)
    spec = type_spec(provider.kind, provider.type)
    settings_rows = [
        (f.label, provider.config.get(f.name) or "—") for f in (spec.settings_fields if spec else ()) if not f.secret
    ]
    secret_rows = [
        (f.label, provider.credential_hints.get(f.name) or "not set") for f in (spec.secret_fields if spec else ())
    ]
    extra: dict[str, Any] = {}
    if isinstance(provider, LlmProvider):
        extra["custom_models"] = selectors.llm_provider_custom_models(provider=provider)
        extra["model_options"] = [o for o in selectors.llm_model_options(provider=provider) if o.source == "catalog"]
        extra["model_form"] = CustomModelForm()
    return render(
        request,
        "providers/provider_detail.html",
        _context(
            request,
            provider=provider,
            row=_row(provider),
            spec=spec,
            settings_rows=settings_rows,
            secret_rows=secret_rows,
            usages=services.provider_usages(provider=provider),
            **extra,
        ),
    )


@members(Role.EDITOR)
@sensitive_post_parameters()
@require_http_methods(["GET", "POST"])
def provider_replace_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    provider = _provider(kind, pk)
    spec = type_spec(provider.kind, provider.type)
    if spec is None:
        messages.error(request, "This provider type is no longer offered: add a new provider instead.")
        return redirect("providers:provider_detail", kind=provider.kind, pk=provider.pk)
    form = ProviderForm(spec, request.POST or None, provider=provider)
    if request.method == "POST" and form.is_valid():
        try:
            services.provider_replace_credentials(
                provider=provider, config=form.settings_values(), secrets=form.secret_values(), user=request.user
            )
        except ProviderValidationError as exc:
            form.add_service_errors(_field_errors(exc), exc.message)
        else:
            messages.success(request, f"Saved the new settings of “{provider.name}”.")
            return _redirect(request, reverse("providers:provider_detail", args=[provider.kind, provider.pk]))
    return render(request, "providers/provider_form.html", _form_context(request, provider.kind, spec, form, provider))


@members(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def provider_rename_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    provider = _provider(kind, pk)
    form = RenameForm(request.POST or None, initial={"name": provider.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.provider_rename(provider=provider, name=form.cleaned_data["name"], user=request.user)
        except ProviderValidationError as exc:
            form.add_error("name", _field_errors(exc).get("name", exc.message))
        else:
            messages.success(request, f"Renamed to “{provider.name}”.")
            return _redirect(request, reverse("providers:provider_detail", args=[provider.kind, provider.pk]))
    return render(request, "providers/provider_rename.html", _context(request, provider=provider, form=form))


@members(Role.EDITOR)
@require_http_methods(["GET", "POST"])
def provider_delete_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    provider = _provider(kind, pk)
    usages = services.provider_usages(provider=provider)
    if request.method == "POST":
        try:
            services.provider_delete(provider=provider, user=request.user)
        except ProviderInUseError as exc:
            messages.error(request, exc.message)
            return _redirect(request, reverse("providers:provider_detail", args=[provider.kind, provider.pk]))
        messages.success(request, f"Deleted “{provider.name}”.")
        return _redirect(request, reverse("providers:provider_list"))
    return render(request, "providers/provider_delete.html", _context(request, provider=provider, usages=usages))


@members(Role.EDITOR)
@require_POST
def provider_test_view(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    provider = _provider(kind, pk)
    check = checks.provider_test_connection(provider=provider)
    addable: list[str] = []
    if isinstance(provider, LlmProvider) and check.models:
        known = {option.name for option in selectors.llm_model_options(provider=provider, include_deprecated=True)}
        addable = [name for name in check.models if name not in known]
    return render(
        request,
        "providers/_test_result.html",
        {"check": check, "provider": provider, "addable": addable, "listed": len(check.models)},
    )


@members(Role.EDITOR)
@require_POST
def llm_model_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    provider = _provider(ProviderKind.LLM, pk)
    assert isinstance(provider, LlmProvider)
    form = CustomModelForm(request.POST)
    if form.is_valid():
        try:
            services.llm_provider_model_add(
                provider=provider,
                name=form.cleaned_data["name"],
                context_window=form.cleaned_data["context_window"],
                supports_tools=form.cleaned_data["supports_tools"],
                user=request.user,
            )
        except ProviderValidationError as exc:
            for field, text in _field_errors(exc).items():
                form.add_error(field if field in form.fields else None, text)
        else:
            form = CustomModelForm()
    return render(request, "providers/_custom_models.html", _models_context(request, provider, form))


@members(Role.EDITOR)
@require_POST
def llm_model_delete_view(request: HttpRequest, pk: int, model_pk: int) -> HttpResponse:
    provider = _provider(ProviderKind.LLM, pk)
    assert isinstance(provider, LlmProvider)
    model = selectors.llm_provider_custom_model_get(provider=provider, model_id=model_pk)
    if model is None:
        raise Http404("Model not found")
    services.llm_provider_model_delete(model=model, user=request.user)
    return render(request, "providers/_custom_models.html", _models_context(request, provider, CustomModelForm()))


def _models_context(request: HttpRequest, provider: LlmProvider, form: CustomModelForm) -> dict[str, Any]:
    return _context(
        request,
        provider=provider,
        custom_models=selectors.llm_provider_custom_models(provider=provider),
        model_form=form,
    )


@members(Role.VIEWER)
@require_GET
def llm_options_view(request: HttpRequest) -> JsonResponse:
    """Providers and their models for pickers (the pipeline editor's LLM node). Names only, never credentials."""
    providers = [
        {
            "id": provider.pk,
            "name": provider.name,
            "type": provider.type,
            "api": provider.api,
            "models": [
                {
                    "name": o.name,
                    "label": o.label,
                    "source": o.source,
                    "context_window": o.context_window,
                    "max_output_tokens": o.max_output_tokens,
                    "supports_tools": o.supports_tools,
                    "supports_vision": o.supports_vision,
                    "deprecated": o.deprecated,
                    "replacement": o.replacement,
                    "is_default": o.is_default,
                }
                for o in selectors.llm_model_options(provider=provider)
            ],
        }
        for provider in selectors.llm_provider_list()
    ]
    return JsonResponse({"providers": providers})


@members(Role.VIEWER)
@require_GET
def local_model_status_view(request: HttpRequest) -> HttpResponse:
    """The local demo model's banner, polled while it is being prepared (shows "ready" once, then stops)."""
    status = local_model_status()
    if status is None:
        return HttpResponse("")
    return render(request, "providers/_local_model_banner.html", {"status": status, "poll": True})

"""Forms built from a type's ``TypeSpec``: settings are shown, secrets never are (masked hint + "leave blank")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from tenant_apps.providers.models import ProviderBase
from tenant_apps.providers.specs import FieldSpec, TypeSpec

INPUT = "input input-bordered w-full"


def _setting_field(spec: FieldSpec, initial: str) -> forms.Field:
    widget = forms.URLInput if spec.input == "url" else forms.TextInput
    return forms.CharField(
        label=spec.label,
        required=spec.required,
        initial=initial,
        help_text=spec.help,
        max_length=500,
        widget=widget(attrs={"class": INPUT, "placeholder": spec.placeholder, "autocomplete": "off"}),
    )


def _secret_field(spec: FieldSpec, hint: str | None) -> forms.Field:
    help_text = spec.help
    if hint:
        help_text = f"Stored: {hint}. Leave blank to keep it, or type a new value to replace it. {help_text}".strip()
    return forms.CharField(
        label=spec.label,
        required=spec.required and not hint,
        help_text=help_text,
        max_length=2000,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False,
            attrs={
                "class": INPUT,
                "placeholder": hint or "",
                "autocomplete": "new-password",
                "spellcheck": "false",
            },
        ),
    )


class ProviderForm(forms.Form):
    """Create (``provider`` None) or replace credentials of a provider of type ``spec``."""

    def __init__(self, spec: TypeSpec, *args: Any, provider: ProviderBase | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spec = spec
        self.provider = provider
        if provider is None:
            self.fields["name"] = forms.CharField(
                label="Name",
                max_length=100,
                help_text="How your team will recognise it, e.g. “OpenAI production”.",
                widget=forms.TextInput(attrs={"class": INPUT, "autofocus": True, "autocomplete": "off"}),
            )
        hints: Mapping[str, str] = provider.credential_hints if provider is not None else {}
        for field in spec.fields:
            if field.secret:
                self.fields[field.name] = _secret_field(field, hints.get(field.name))
            else:
                current = str(provider.config.get(field.name) or "") if provider is not None else field.default
                self.fields[field.name] = _setting_field(field, current)

    def settings_values(self) -> dict[str, str]:
        return {f.name: self.cleaned_data.get(f.name) or "" for f in self.spec.settings_fields}

    def secret_values(self) -> dict[str, str]:
        return {f.name: self.cleaned_data.get(f.name) or "" for f in self.spec.secret_fields}

    def add_service_errors(self, errors: Mapping[str, str], message: str) -> None:
        placed = False
        for name, text in errors.items():
            if name in self.fields:
                self.add_error(name, text)
                placed = True
        if not placed:
            self.add_error(None, message)


class RenameForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, widget=forms.TextInput(attrs={"class": INPUT, "autofocus": True})
    )


class CustomModelForm(forms.Form):
    name = forms.CharField(
        label="Model name",
        max_length=120,
        help_text="Exactly as the API expects it, e.g. llama3.1:8b or my-finetune.",
        widget=forms.TextInput(attrs={"class": INPUT, "placeholder": "model id", "autocomplete": "off"}),
    )
    context_window = forms.IntegerField(
        label="Context window (tokens)",
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"class": INPUT, "placeholder": "optional"}),
    )
    supports_tools = forms.BooleanField(
        label="Supports tools", required=False, initial=True, widget=forms.CheckboxInput(attrs={"class": "checkbox"})
    )

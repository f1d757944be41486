from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from shared_apps.billing.enums import CapAction
from shared_apps.billing.models import DEFAULT_LIMIT_MESSAGE
from shared_apps.billing.services import MAX_LIMIT_MESSAGE, money_parse
from shared_apps.core.exceptions import ApplicationError


class MoneyField(forms.CharField):
    """An optional amount in the billing currency (empty = no cap)."""

    def clean(self, value: Any) -> Decimal | None:  # type: ignore[override]
        value = super().clean(value)
        try:
            return money_parse(value)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message) from None


class SpendCapForm(forms.Form):
    spend_cap = MoneyField(
        label="Monthly model-spend cap (USD)",
        required=False,
        max_length=20,
        help_text="From the traced model costs of every chatbot. Leave empty for no cap.",
        widget=forms.TextInput(
            attrs={
                "class": "input w-full max-w-xs",
                "inputmode": "decimal",
                "placeholder": "e.g. 50",
                "autocomplete": "off",
            }
        ),
    )
    cap_action = forms.ChoiceField(
        label="When a cap is reached",
        choices=CapAction.choices,
        widget=forms.RadioSelect,
        initial=CapAction.LIMIT_MESSAGE,
    )
    fallback = forms.ChoiceField(label="Cheaper model", required=False)
    limit_message = forms.CharField(
        label="Limit message",
        required=False,
        max_length=MAX_LIMIT_MESSAGE,
        help_text="What chatbots answer instead of calling a model once a limit or cap is reached.",
        widget=forms.Textarea(attrs={"class": "textarea w-full", "rows": 3, "placeholder": DEFAULT_LIMIT_MESSAGE}),
    )

    def __init__(self, *args: Any, models: list[tuple[int, str, list[str]]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices: list[Any] = [("", "Choose a model")]
        for provider_id, provider, names in models:
            choices.append((provider, [(f"{provider_id}:{name}", name) for name in names]))
        self.fields["fallback"].choices = choices  # type: ignore[attr-defined]

    def fallback_choice(self) -> tuple[int | None, str]:
        raw = self.cleaned_data.get("fallback") or ""
        provider, _, model = raw.partition(":")
        return (int(provider), model) if provider.isdigit() and model else (None, "")


class ChatbotCapForm(forms.Form):
    cap = MoneyField(
        label="Monthly cap (USD)",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"class": "input input-sm w-28", "inputmode": "decimal", "placeholder": "No cap"}),
    )

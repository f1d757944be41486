from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tenant_apps.chatbots.models import Chatbot, ConsentForm
from tenant_apps.chatbots.services import LLM_FORM_FIELDS, allowlist_clean
from tenant_apps.pipelines.services import DEFAULT_PROMPT
from tenant_apps.providers import selectors as provider_selectors


def model_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The team's providers, each with its models (the team's own first, then the catalog's), as optgroups.

    A choice's value is ``"<provider id>:<model name>"``.
    """
    groups = []
    for provider in provider_selectors.llm_provider_list():
        options = provider_selectors.llm_model_options(provider=provider)
        choices = [(f"{provider.pk}:{option.name}", f"{option.label} · {provider.name}") for option in options]
        if choices:
            groups.append((provider.name, choices))
    return groups


def split_model_choice(value: str) -> tuple[int, str]:
    provider_id, _, model = value.partition(":")
    return int(provider_id), model


class ModelChoiceMixin:
    """A "Model" select over the team's providers and their models; ``cleaned_data`` gets provider id + model."""

    fields: dict[str, forms.Field]

    def add_model_field(self, *, current: tuple[int | None, str | None] = (None, None)) -> None:
        groups = model_choices()
        provider_id, model = current
        values = {value for _, choices in groups for value, _ in choices}
        initial = f"{provider_id}:{model}" if provider_id and model else None
        if initial and initial not in values:
            groups.append(("Current", [(initial, f"{model} (not offered by the team's providers any more)")]))
        if initial is None:
            first = provider_selectors.llm_first_choice()
            initial = f"{first.provider_id}:{first.model}" if first else None
        self.fields["model"] = forms.ChoiceField(
            label="Model",
            choices=groups,
            initial=initial,
            help_text="From your team's LLM providers and the models the catalog lists for them.",
            widget=forms.Select(attrs={"class": "select w-full"}),
        )


class ChatbotCreateForm(ModelChoiceMixin, forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True, "class": "input w-full"}))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "textarea w-full"}))
    prompt = forms.CharField(
        label="System prompt",
        required=False,
        max_length=50_000,
        initial=DEFAULT_PROMPT,
        help_text="What the model is told before every conversation: its role, tone and limits. You can change it "
        "later on the Build tab.",
        widget=forms.Textarea(attrs={"rows": 5, "class": "textarea w-full font-mono text-sm"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_model_field()
        self.has_models = bool(self.fields["model"].choices)  # type: ignore[attr-defined]
        if not self.has_models:
            del self.fields["model"]
        elif self.is_bound and not self.data.get("model"):
            # A post without a model (a script, an old form) gets the suggested one, as the page preselects it.
            data = self.data.copy()  # type: ignore[attr-defined]  # a QueryDict when bound to a request
            data["model"] = self.fields["model"].initial
            self.data = data

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs: dict[str, Any] = {"name": data["name"], "description": data["description"], "prompt": data["prompt"]}
        if data.get("model"):
            kwargs["llm_provider_id"], kwargs["llm_model"] = split_model_choice(data["model"])
        return kwargs


class ChatbotSettingsForm(forms.ModelForm):
    participant_allowlist = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "textarea w-full", "placeholder": "one per line"}),
        help_text="Emails, phone numbers or platform ids allowed to chat, one per line. Empty = anyone.",
    )

    class Meta:
        model = Chatbot
        fields = [
            "name",
            "description",
            "seed_message",
            "participant_allowlist",
            "consent_form",
            "file_uploads_enabled",
            "is_public",
        ]
        labels = {
            "is_public": "Public link: anyone with the link can chat",
            "file_uploads_enabled": "Let participants upload files",
        }
        widgets = {
            "name": forms.TextInput(attrs={"class": "input w-full"}),
            "description": forms.Textarea(attrs={"rows": 3, "class": "textarea w-full"}),
            "seed_message": forms.Textarea(attrs={"rows": 2, "class": "textarea w-full"}),
            "consent_form": forms.Select(attrs={"class": "select w-full"}),
            "file_uploads_enabled": forms.CheckboxInput(attrs={"class": "toggle"}),
            "is_public": forms.CheckboxInput(attrs={"class": "toggle"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial["participant_allowlist"] = "\n".join(self.instance.participant_allowlist or [])
        consent_field = self.fields["consent_form"]
        assert isinstance(consent_field, forms.ModelChoiceField)
        consent_field.queryset = ConsentForm.objects.order_by("name")
        consent_field.empty_label = "No consent form"

    def clean_participant_allowlist(self) -> list[str]:
        try:
            return allowlist_clean(self.cleaned_data.get("participant_allowlist") or "")
        except ValidationError as exc:
            raise ValidationError("Each line must be an email, a phone number or a platform id.") from exc


class VersionCreateForm(forms.Form):
    description = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"class": "input w-full", "placeholder": "What changed?"}),
    )
    publish = forms.BooleanField(required=False, initial=True, widget=forms.CheckboxInput(attrs={"class": "checkbox"}))


class ConsentFormForm(forms.ModelForm):
    class Meta:
        model = ConsentForm
        fields = ["name", "consent_text", "confirmation_text"]
        widgets = {
            "name": forms.TextInput(attrs={"class": "input w-full", "autofocus": True}),
            "consent_text": forms.Textarea(attrs={"rows": 8, "class": "textarea w-full"}),
            "confirmation_text": forms.TextInput(attrs={"class": "input w-full"}),
        }


# The LLM node's own params schema (Pydantic → JSON Schema with ui:* hints, as the visual editor reads it) gives
# the Build form its labels, choices and input bounds; the rules themselves stay in the pipeline validation.
_LLM_FIELDS = tuple(name for name in LLM_FORM_FIELDS if name not in ("llm_provider_id", "llm_model"))  # "model"
PROMPT_VARIABLES = (
    ("{participant_data}", "everything remembered about the participant"),
    ("{session_state.<key>}", "a value saved for this conversation"),
    ("{temp_state.<key>}", "a value set earlier in this turn"),
    ("{current_datetime}", "the date and time of the message"),
)


def _bounds(prop: dict[str, Any]) -> dict[str, Any]:
    for option in prop.get("anyOf", [prop]):
        if option.get("type") in ("number", "integer"):
            attrs = {"min": option.get("minimum"), "max": option.get("maximum")}
            if option["type"] == "number":
                attrs["step"] = "0.1"
            return {key: value for key, value in attrs.items() if value is not None}
    return {}


def _schema_field(name: str, prop: dict[str, Any]) -> forms.Field:
    label = prop.get("ui:label") or name
    labels = prop.get("ui:enumLabels") or {}
    if name == "prompt":
        return forms.CharField(
            label="System prompt",
            required=False,
            strip=False,
            widget=forms.Textarea(attrs={"rows": 10, "class": "textarea w-full font-mono text-sm"}),
        )
    if "enum" in prop:
        choices = [(value, labels.get(value, value)) for value in prop["enum"]]
        return forms.ChoiceField(label=label, choices=choices, widget=forms.Select(attrs={"class": "select w-full"}))
    if prop.get("type") == "array":
        items = prop.get("items", {})
        item_labels = prop.get("ui:enumLabels") or items.get("ui:enumLabels") or {}
        choices = [(value, item_labels.get(value, value)) for value in items.get("enum", [])]
        return forms.MultipleChoiceField(
            label=label,
            required=False,
            choices=choices,
            widget=forms.CheckboxSelectMultiple(attrs={"class": "checkbox checkbox-sm"}),
        )
    kinds = {option.get("type") for option in prop.get("anyOf", [prop])}
    attrs = {"class": "input w-full", **_bounds(prop)}
    if "number" in kinds:
        return forms.FloatField(label=label, required=False, widget=forms.NumberInput(attrs=attrs))
    if "integer" in kinds:
        return forms.IntegerField(label=label, required=False, widget=forms.NumberInput(attrs=attrs))
    return forms.CharField(label=label, required=False, widget=forms.TextInput(attrs={"class": "input w-full"}))


class LlmNodeForm(ModelChoiceMixin, forms.Form):
    """The Build tab: the LLM node of a start → LLM → end pipeline as a form. Values are checked by the pipeline
    validation in ``services.chatbot_llm_update``; this form only parses them."""

    base_revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, params: dict[str, Any], base_revision: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from tenant_apps.pipelines.nodes.llm import LlmParams

        schema = LlmParams.model_json_schema()["properties"]
        defaults = {name: info.default for name, info in LlmParams.model_fields.items() if not info.is_required()}
        self.add_model_field(current=(params.get("llm_provider_id"), params.get("llm_model")))
        for name in _LLM_FIELDS:
            self.fields[name] = _schema_field(name, schema[name])
            self.initial[name] = params.get(name, defaults.get(name))
        self.fields["temperature"].help_text = "0 gives the same answer every time; higher values vary more."
        self.fields["max_tokens"].help_text = "Longest answer, in tokens. Empty: the model's own limit."
        self.initial["base_revision"] = base_revision
        self.initial["model"] = self.fields["model"].initial

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("base_revision")
        data["llm_provider_id"], data["llm_model"] = split_model_choice(data.pop("model"))
        if data.get("history_type") != "named":
            data["history_name"] = ""
        return data

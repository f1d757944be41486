from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tenant_apps.chatbots.models import Chatbot, ConsentForm
from tenant_apps.chatbots.services import allowlist_clean


class ChatbotCreateForm(forms.Form):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={"autofocus": True, "class": "input w-full"}))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "textarea w-full"}))


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

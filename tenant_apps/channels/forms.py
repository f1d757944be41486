from __future__ import annotations

from typing import Any

from django import forms

from tenant_apps.channels.enums import ChannelKind, WidgetAuthLevel
from tenant_apps.channels.platforms import platform_for
from tenant_apps.providers.models import MessagingProvider

_INPUT = {"class": "input w-full"}
_TEXTAREA = {"class": "textarea w-full", "rows": 3}


def _provider_field(provider_type: str | None, *, required: bool) -> forms.ModelChoiceField:
    providers = MessagingProvider.objects.order_by("name")
    return forms.ModelChoiceField(
        label="Messaging provider",
        queryset=providers.filter(type=provider_type) if provider_type else providers,
        required=required,
        empty_label="Choose…",
        widget=forms.Select(attrs={"class": "select w-full"}),
        help_text="The credentials this channel uses (add them under Providers → Messaging).",
    )


class ChannelCreateForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=ChannelKind.choices, widget=forms.Select(attrs={"class": "select"}))
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs=_INPUT))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"] = _provider_field(None, required=False)
        self.fields["provider"].help_text = "For Telegram, WhatsApp, SMS, Messenger and Slack channels."


class ChannelSettingsForm(forms.Form):
    """Name and disabled message for every kind; the kind's own fields are added by ``for_kind``."""

    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs=_INPUT))
    disabled_message = forms.CharField(
        label="Message while disabled",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs=_TEXTAREA),
        help_text="What callers are answered while the channel is disabled.",
    )

    @classmethod
    def for_kind(cls, kind: str, *args: object, **kwargs: object) -> ChannelSettingsForm:
        form = cls(*args, **kwargs)  # type: ignore[arg-type]
        if kind == ChannelKind.WIDGET:
            form.fields["allowed_domains"] = forms.CharField(
                label="Allowed sites",
                required=False,
                max_length=5000,
                widget=forms.Textarea(attrs={**_TEXTAREA, "placeholder": "example.com\n*.example.org"}),
                help_text="One per line: example.com, *.example.com (any subdomain) or * (any site). The widget "
                "works only on pages served from these hostnames.",
            )
            form.fields["auth_level"] = forms.TypedChoiceField(
                label="Authentication",
                coerce=int,
                choices=WidgetAuthLevel.choices,
                widget=forms.Select(attrs={"class": "select w-full"}),
                help_text="The npm widget 0.6.0 sends no session token: use the embed key level with it.",
            )
        elif (platform := platform_for(kind)) is not None:
            if platform.provider_type:
                form.fields["provider"] = _provider_field(platform.provider_type, required=True)
            for name, field in platform.form_fields().items():
                if name in platform.secret_fields:
                    field.required = False
                    field.widget = forms.PasswordInput(attrs=_INPUT, render_value=False)
                    field.help_text = (field.help_text + " " if field.help_text else "") + "Leave blank to keep it."
                form.fields[name] = field
        else:
            form.fields["callback_url"] = forms.URLField(
                label="Callback URL",
                required=False,
                max_length=2000,
                assume_scheme="https",
                widget=forms.URLInput(attrs={**_INPUT, "placeholder": "https://example.com/chat/replies"}),
                help_text="Replies are POSTed here, signed like your requests. Leave empty to read replies with "
                "?wait= instead.",
            )
        return form

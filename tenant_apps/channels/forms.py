from __future__ import annotations

from django import forms

from tenant_apps.channels.enums import ChannelKind, WidgetAuthLevel

_INPUT = {"class": "input w-full"}
_TEXTAREA = {"class": "textarea w-full", "rows": 3}


class ChannelCreateForm(forms.Form):
    kind = forms.ChoiceField(label="Type", choices=ChannelKind.choices, widget=forms.Select(attrs={"class": "select"}))
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs=_INPUT))


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

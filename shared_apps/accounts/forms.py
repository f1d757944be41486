"""Signup with a team (organisation + subdomain), signup through an invitation, and "create another team"."""

from __future__ import annotations

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils.functional import lazy

from shared_apps.accounts.models import User
from tenants.exceptions import TeamSlugError
from tenants.models import Invitation, Membership, Team
from tenants.services.invitations import invitation_accept
from tenants.services.teams import slug_validate, team_create
from tenants.urls import public_reverse

_public_reverse_lazy = lazy(public_reverse, str)


def _subdomain_field() -> forms.CharField:
    return forms.CharField(
        label="Subdomain",
        max_length=40,
        help_text=f"Your team's address: <subdomain>.{settings.BASE_DOMAIN}. Lowercase letters, digits and hyphens.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "none",
                "spellcheck": "false",
                "placeholder": "acme",
                # Live check while typing (debounced), against the same rules the server applies on submit.
                "hx-get": _public_reverse_lazy("accounts:subdomain_check"),
                "hx-trigger": "input changed delay:350ms, blur",
                "hx-target": "#subdomain-status",
                "hx-sync": "this:replace",
                "aria-describedby": "subdomain-status",
            }
        ),
    )


def _clean_subdomain(value: str) -> str:
    try:
        return slug_validate(value)
    except TeamSlugError as exc:
        raise forms.ValidationError(exc.message, code=exc.code) from exc


class SignupForm(AllauthSignupForm):
    """allauth's signup plus the team to create. With an invitation: no team fields, the invited email only.

    ``save`` creates the user and the team (or accepts the invitation) in one transaction, so a subdomain taken
    in the meantime leaves no half-created account behind.
    """

    organisation = forms.CharField(
        label="Organisation name", max_length=100, widget=forms.TextInput(attrs={"placeholder": "Acme Inc."})
    )
    subdomain = _subdomain_field()

    field_order = ["email", "organisation", "subdomain", "password1", "password2"]

    def __init__(self, *args: Any, invitation: Invitation | None = None, **kwargs: Any) -> None:
        self.invitation = invitation
        self.team: Team | None = None
        self.membership: Membership | None = None
        super().__init__(*args, **kwargs)
        if invitation is not None:
            del self.fields["organisation"]
            del self.fields["subdomain"]
            self.fields["email"].initial = invitation.email
            self.fields["email"].widget.attrs["readonly"] = True
        self.order_fields(self.field_order)

    def clean_subdomain(self) -> str:
        return _clean_subdomain(self.cleaned_data.get("subdomain", ""))

    def clean_email(self) -> str:
        value: str = super().clean_email()
        if self.invitation is not None and value.lower() != self.invitation.email:
            raise forms.ValidationError(
                f"This invitation is for {self.invitation.email}. Sign up with that address, "
                "or sign up without the invitation.",
                code="invitation_email",
            )
        return value

    def save(self, request: HttpRequest) -> User:
        with transaction.atomic():
            user: User = super().save(request)
            if self.invitation is not None:
                self.membership = invitation_accept(invitation=self.invitation, user=user)
            else:
                self.team = team_create(
                    name=self.cleaned_data["organisation"], slug=self.cleaned_data["subdomain"], owner=user
                )
        return user


class TeamCreateForm(forms.Form):
    """A logged-in user creates another team from the team picker."""

    organisation = forms.CharField(
        label="Organisation name", max_length=100, widget=forms.TextInput(attrs={"placeholder": "Acme Inc."})
    )
    subdomain = _subdomain_field()

    def clean_subdomain(self) -> str:
        return _clean_subdomain(self.cleaned_data.get("subdomain", ""))

from __future__ import annotations

from django import forms

from tenants.enums import Role


def role_choices(*, actor_role: Role | None) -> list[tuple[str, str]]:
    """Roles an actor may hand out: owners any, admins up to admin."""
    allowed = [r for r in Role if actor_role == Role.OWNER or r != Role.OWNER]
    return [(r.value, r.label) for r in allowed]


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        widget=forms.EmailInput(attrs={"placeholder": "name@company.com", "autocomplete": "off"}),
    )
    role = forms.ChoiceField(label="Role", initial=Role.EDITOR.value)

    def __init__(self, *args: object, actor_role: Role | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["role"].choices = role_choices(actor_role=actor_role)  # type: ignore[attr-defined]


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TeamRenameForm(forms.Form):
    name = forms.CharField(label="Team name", max_length=100)


class TeamDeleteForm(forms.Form):
    confirm_slug = forms.CharField(label="Type the team's subdomain to confirm", max_length=40)

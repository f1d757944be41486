from django import forms


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, widget=forms.TextInput(attrs={"placeholder": "e.g. CI deploys"})
    )
    read_only = forms.BooleanField(label="Read-only (GET requests only)", required=False)

"""Forms for the Events tab (triggers), the participant page (schedule a message) and broadcasts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms

from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations.enums import Platform
from tenant_apps.events.enums import ActionType, IntervalUnit, StaticEvent
from tenant_apps.events.services import BROADCAST_PLATFORMS
from tenant_apps.pipelines.models import Pipeline

_INPUT = {"class": "input w-full"}
_SELECT = {"class": "select w-full"}
DELAY_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class _ActionFields(forms.Form):
    """The action and its settings; ``params`` builds the action's parameters from the fields it uses."""

    action = forms.ChoiceField(choices=ActionType.choices, widget=forms.Select(attrs={**_SELECT, "x-model": "action"}))
    message = forms.CharField(
        required=False,
        max_length=2000,
        label="Message",
        help_text="Sent to the bot (its answer goes to the participant) or scheduled for the participant.",
        widget=forms.Textarea(attrs={"rows": 3, "class": "textarea w-full"}),
    )
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.none(), required=False, label="Pipeline", widget=forms.Select(attrs=_SELECT)
    )
    schedule_delay = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=366 * 86400,
        label="Send after (seconds)",
        widget=forms.NumberInput(attrs=_INPUT),
    )
    schedule_interval = forms.IntegerField(
        required=False, min_value=1, max_value=1000, label="Repeat every", widget=forms.NumberInput(attrs=_INPUT)
    )
    schedule_unit = forms.ChoiceField(
        required=False, choices=[("", "—"), *IntervalUnit.choices], label="Unit", widget=forms.Select(attrs=_SELECT)
    )
    schedule_max_runs = forms.IntegerField(
        required=False, min_value=1, max_value=1000, label="Times in all", widget=forms.NumberInput(attrs=_INPUT)
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pipeline"].queryset = Pipeline.objects.filter(is_frozen=False).order_by("name")  # type: ignore[attr-defined]

    @staticmethod
    def initial_from(trigger: Any) -> dict[str, Any]:
        params = trigger.params or {}
        return {
            "name": trigger.name,
            "action": trigger.action,
            "is_active": trigger.is_active,
            "message": params.get("message", ""),
            "pipeline": params.get("pipeline_id"),
            "schedule_delay": params.get("delay_seconds"),
            "schedule_interval": params.get("interval"),
            "schedule_unit": params.get("unit", ""),
            "schedule_max_runs": params.get("max_runs"),
        }

    def params(self) -> dict[str, Any]:
        data, action = self.cleaned_data, self.cleaned_data["action"]
        if action == ActionType.SEND_MESSAGE_TO_BOT:
            return {"message": data.get("message") or ""}
        if action == ActionType.START_PIPELINE:
            return {"pipeline_id": data["pipeline"].pk} if data.get("pipeline") else {}
        if action == ActionType.SCHEDULE_MESSAGE:
            params = {"message": data.get("message") or "", "delay_seconds": data.get("schedule_delay") or 0}
            for key, field in (
                ("interval", "schedule_interval"),
                ("unit", "schedule_unit"),
                ("max_runs", "schedule_max_runs"),
            ):
                if data.get(field):
                    params[key] = data[field]
            return params
        return {}


class StaticTriggerForm(_ActionFields):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={**_INPUT, "autofocus": True}))
    event = forms.ChoiceField(choices=StaticEvent.choices, label="When", widget=forms.Select(attrs=_SELECT))
    field_order = ["name", "event", "action", "message", "pipeline", "schedule_delay", "schedule_interval"]


class TimeoutTriggerForm(_ActionFields):
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs={**_INPUT, "autofocus": True}))
    delay = forms.IntegerField(
        min_value=1, max_value=30 * 86400, label="After this much silence", widget=forms.NumberInput(attrs=_INPUT)
    )
    delay_unit = forms.ChoiceField(
        choices=[(k, k) for k in DELAY_UNITS], initial="hours", label="Unit", widget=forms.Select(attrs=_SELECT)
    )
    from_first_message = forms.BooleanField(
        required=False, label="Count from the participant's first message (not their last)"
    )
    repeat = forms.IntegerField(
        min_value=1,
        max_value=20,
        initial=1,
        label="Fire at most this many times",
        widget=forms.NumberInput(attrs=_INPUT),
    )
    field_order = ["name", "delay", "delay_unit", "from_first_message", "repeat", "action", "message", "pipeline"]

    def delay_seconds(self) -> int:
        return int(self.cleaned_data["delay"]) * DELAY_UNITS[self.cleaned_data["delay_unit"]]


class ScheduleForm(forms.Form):
    chatbot = forms.ModelChoiceField(queryset=Chatbot.objects.none(), widget=forms.Select(attrs=_SELECT))
    text = forms.CharField(
        max_length=2000, label="Message", widget=forms.Textarea(attrs={"rows": 3, "class": "textarea w-full"})
    )
    first_run_at = forms.DateTimeField(
        label="First send (UTC)",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={**_INPUT, "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    interval = forms.IntegerField(
        required=False, min_value=1, max_value=1000, label="Repeat every", widget=forms.NumberInput(attrs=_INPUT)
    )
    unit = forms.ChoiceField(
        required=False, choices=[("", "—"), *IntervalUnit.choices], widget=forms.Select(attrs=_SELECT)
    )
    until = forms.DateTimeField(
        required=False,
        label="Until (UTC)",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={**_INPUT, "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    max_runs = forms.IntegerField(
        required=False, min_value=1, max_value=1000, label="Times in all", widget=forms.NumberInput(attrs=_INPUT)
    )

    def __init__(self, *args: Any, chatbots: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["chatbot"].queryset = chatbots  # type: ignore[attr-defined]

    @staticmethod
    def _utc(value: datetime | None) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "chatbot": data["chatbot"],
            "text": data["text"],
            "first_run_at": self._utc(data["first_run_at"]),
            "interval": data.get("interval") or None,
            "unit": IntervalUnit(data["unit"]) if data.get("unit") else None,
            "until": self._utc(data.get("until")),
            "max_runs": data.get("max_runs") or None,
        }


class BroadcastForm(forms.Form):
    text = forms.CharField(
        max_length=2000, label="Message", widget=forms.Textarea(attrs={"rows": 4, "class": "textarea w-full"})
    )
    platforms = forms.MultipleChoiceField(
        choices=[(p, Platform(p).label) for p in BROADCAST_PLATFORMS],
        label="Channels",
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checkbox checkbox-sm"}),
    )

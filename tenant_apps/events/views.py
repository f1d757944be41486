"""Events pages on the team host: a chatbot's Events tab (triggers + event log), broadcasts with their progress,
and a participant's page with their scheduled messages. Adapters only: services write, selectors read."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError, NotFoundError
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations.models import Participant
from tenant_apps.events import selectors, services
from tenant_apps.events.forms import DELAY_UNITS, BroadcastForm, ScheduleForm, StaticTriggerForm, TimeoutTriggerForm
from tenants.access import members
from tenants.enums import Role


def _chatbot(chatbot_id: int) -> Chatbot:
    try:
        return chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _found(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _add_errors(form: Any, exc: ApplicationError) -> None:
    fields = exc.extra.get("fields")
    aliases = {
        "pipeline_id": "pipeline",
        "delay_seconds": "schedule_delay",
        "interval": "schedule_interval",
        "unit": "schedule_unit",
        "max_runs": "schedule_max_runs",
    }
    placed = False
    if isinstance(fields, dict):
        for name, text in fields.items():
            target = name if name in form.fields else aliases.get(name, "")
            if target in form.fields:
                form.add_error(target, str(text))
                placed = True
    if not placed:
        form.add_error(None, exc.message)


# --------------------------------------------------------------------------------------------------- triggers


@members()
def event_list_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    """The Events tab: event and timeout triggers (working copy) and the event log (what fired, when, result)."""
    chatbot = _chatbot(chatbot_id)
    page = Paginator(selectors.event_log(chatbot=chatbot), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "events/event_list.html",
        {
            "chatbot": chatbot,
            "static_triggers": selectors.static_triggers(chatbot=chatbot),
            "timeout_triggers": selectors.timeout_triggers(chatbot=chatbot),
            "page": page,
            "can_edit": request.membership.role_enum.at_least(Role.EDITOR),  # type: ignore[attr-defined]
        },
    )


def _trigger_form_page(
    request: HttpRequest, chatbot: Chatbot, trigger: Any, form: Any, *, kind: str, save: Any, saved: str
) -> HttpResponse:
    """The add/edit page of a trigger of either kind: ``save(form)`` on a valid POST, then back to the Events tab."""
    if request.method == "POST" and form.is_valid():
        try:
            save(form)
        except ApplicationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, saved)
            return redirect("events:event_list", chatbot_id=chatbot.pk)
    return render(
        request, "events/trigger_form.html", {"chatbot": chatbot, "form": form, "trigger": trigger, "kind": kind}
    )


@members(Role.EDITOR)
def static_trigger_edit_view(request: HttpRequest, chatbot_id: int, trigger_id: int | None = None) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    trigger = (
        _found(selectors.static_trigger_get, chatbot=chatbot, trigger_id=trigger_id) if trigger_id is not None else None
    )
    initial = {**StaticTriggerForm.initial_from(trigger), "event": trigger.event} if trigger else None

    def save(form: StaticTriggerForm) -> None:
        services.static_trigger_save(
            chatbot=chatbot,
            trigger=trigger,
            name=form.cleaned_data["name"],
            event=form.cleaned_data["event"],
            action=form.cleaned_data["action"],
            params=form.params(),
            is_active=form.cleaned_data["is_active"],
            actor=request.user,
        )

    form = StaticTriggerForm(request.POST or None, initial=initial)
    return _trigger_form_page(
        request,
        chatbot,
        trigger,
        form,
        kind="static",
        save=save,
        saved="Trigger saved. It fires once you publish a new version.",
    )


@members(Role.EDITOR)
def timeout_trigger_edit_view(request: HttpRequest, chatbot_id: int, trigger_id: int | None = None) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    trigger = (
        _found(selectors.timeout_trigger_get, chatbot=chatbot, trigger_id=trigger_id)
        if trigger_id is not None
        else None
    )
    initial = None
    if trigger is not None:
        unit = next(u for u in reversed(list(DELAY_UNITS)) if trigger.delay_seconds % DELAY_UNITS[u] == 0)
        initial = {
            **TimeoutTriggerForm.initial_from(trigger),
            "delay": trigger.delay_seconds // DELAY_UNITS[unit],
            "delay_unit": unit,
            "from_first_message": trigger.from_first_message,
            "repeat": trigger.repeat,
        }

    def save(form: TimeoutTriggerForm) -> None:
        services.timeout_trigger_save(
            chatbot=chatbot,
            trigger=trigger,
            name=form.cleaned_data["name"],
            delay_seconds=form.delay_seconds(),
            from_first_message=form.cleaned_data["from_first_message"],
            repeat=form.cleaned_data["repeat"],
            action=form.cleaned_data["action"],
            params=form.params(),
            is_active=form.cleaned_data["is_active"],
            actor=request.user,
        )

    form = TimeoutTriggerForm(request.POST or None, initial=initial)
    return _trigger_form_page(
        request,
        chatbot,
        trigger,
        form,
        kind="timeout",
        save=save,
        saved="Timeout saved. It fires once you publish a new version.",
    )


def _trigger_delete(request: HttpRequest, chatbot_id: int, trigger_id: int, get: Any) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    trigger = _found(get, chatbot=chatbot, trigger_id=trigger_id)
    services.trigger_delete(trigger=trigger, actor=request.user)
    messages.success(request, f"Deleted “{trigger.name}” from the working copy.")
    return redirect("events:event_list", chatbot_id=chatbot.pk)


@members(Role.EDITOR)
@require_POST
def static_trigger_delete_view(request: HttpRequest, chatbot_id: int, trigger_id: int) -> HttpResponse:
    return _trigger_delete(request, chatbot_id, trigger_id, selectors.static_trigger_get)


@members(Role.EDITOR)
@require_POST
def timeout_trigger_delete_view(request: HttpRequest, chatbot_id: int, trigger_id: int) -> HttpResponse:
    return _trigger_delete(request, chatbot_id, trigger_id, selectors.timeout_trigger_get)


# ------------------------------------------------------------------------------------------------- broadcasts


@members()
def broadcast_list_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    form = BroadcastForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            broadcast = services.broadcast_create(
                chatbot=chatbot,
                text=form.cleaned_data["text"],
                platforms=form.cleaned_data["platforms"],
                actor=request.user,
            )
        except ApplicationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Broadcast queued: it is being sent in the background.")
            return redirect("events:broadcast_detail", chatbot_id=chatbot.pk, broadcast_id=broadcast.pk)
    page = Paginator(selectors.broadcasts(chatbot=chatbot), 20).get_page(request.GET.get("page"))
    return render(request, "events/broadcast_list.html", {"chatbot": chatbot, "form": form, "page": page})


broadcast_list_view.write_role = Role.EDITOR  # type: ignore[attr-defined]


@members()
def broadcast_detail_view(request: HttpRequest, chatbot_id: int, broadcast_id: int) -> HttpResponse:
    """Progress and the per-recipient results; htmx polls the progress card while it runs."""
    chatbot = _chatbot(chatbot_id)
    broadcast = _found(selectors.broadcast_get, chatbot=chatbot, broadcast_id=broadcast_id)
    context = {"chatbot": chatbot, "broadcast": broadcast}
    if request.headers.get("HX-Request"):
        return render(request, "events/_broadcast_progress.html", context)
    context["recipients"] = selectors.broadcast_recipients(broadcast=broadcast)
    return render(request, "events/broadcast_detail.html", context)


# ----------------------------------------------------------------------------------------------- participants


def _participant(participant_id: int) -> Participant:
    return _found(selectors.participant_get, participant_id=participant_id)  # type: ignore[no-any-return]


@members()
def participant_detail_view(request: HttpRequest, participant_id: int) -> HttpResponse:
    """A participant: their sessions, their scheduled messages (cancellable) with each attempt, and a form to
    schedule one."""
    participant = _participant(participant_id)
    chatbots = selectors.participant_chatbots(participant=participant)
    form = ScheduleForm(request.POST or None, chatbots=chatbots)
    if request.method == "POST" and form.is_valid():
        try:
            services.scheduled_message_create(participant=participant, created_by=request.user, **form.service_kwargs())
        except ApplicationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Message scheduled.")
            return redirect("events:participant_detail", participant_id=participant.pk)
    return render(
        request,
        "events/participant_detail.html",
        {
            "participant": participant,
            "form": form,
            "scheduled": selectors.participant_scheduled(participant=participant),
            "attempts": selectors.scheduled_attempts(participant=participant),
            "sessions": selectors.participant_sessions(participant=participant),
        },
    )


participant_detail_view.write_role = Role.EDITOR  # type: ignore[attr-defined]


@members(Role.EDITOR)
@require_POST
def scheduled_cancel_view(request: HttpRequest, participant_id: int, scheduled_id: Any) -> HttpResponse:
    participant = _participant(participant_id)
    scheduled = _found(selectors.scheduled_get, participant=participant, public_id=scheduled_id)
    services.scheduled_message_cancel(scheduled=scheduled)
    messages.success(request, "Scheduled message cancelled.")
    return redirect("events:participant_detail", participant_id=participant.pk)

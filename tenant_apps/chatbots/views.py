"""Chatbot pages on the team host: list, create, settings, versions, consent forms. Adapters only."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError, NotFoundError
from tenant_apps.chatbots import selectors, services
from tenant_apps.chatbots.forms import (
    PROMPT_VARIABLES,
    ChatbotCreateForm,
    ChatbotSettingsForm,
    ConsentFormForm,
    LlmNodeForm,
    VersionCreateForm,
)
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenants.access import members
from tenants.enums import Role


def _chatbot(chatbot_id: int) -> Chatbot:
    try:
        return selectors.chatbot_get(chatbot_id=chatbot_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _version(chatbot: Chatbot, number: int) -> ChatbotVersion:
    try:
        return selectors.version_get(chatbot=chatbot, number=number)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


@members()
def chatbot_list_view(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    search = request.GET.get("q", "").strip()
    page = Paginator(selectors.chatbot_list(archived=archived, search=search), 25).get_page(request.GET.get("page"))
    return render(request, "chatbots/chatbot_list.html", {"page": page, "archived": archived, "search": search})


def _add_service_errors(form: Any, exc: ApplicationError, fallback: str) -> None:
    fields = exc.extra.get("fields")
    placed = False
    if isinstance(fields, dict):
        for name, text in fields.items():
            target = "model" if name in ("llm_provider_id", "llm_model") else name
            if target in form.fields:
                form.add_error(target, str(text))
                placed = True
    if not placed:
        form.add_error(fallback if fallback in form.fields else None, exc.message)


@members(Role.EDITOR)
def chatbot_create_view(request: HttpRequest) -> HttpResponse:
    form = ChatbotCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            chatbot = services.chatbot_create(created_by=request.user, **form.service_kwargs())
        except ApplicationError as exc:
            _add_service_errors(form, exc, "name")
        else:
            messages.success(request, f"Created “{chatbot.name}”. Chat with it, then create a version to publish it.")
            return redirect("chatbots:chatbot_detail", chatbot_id=chatbot.pk)
    return render(request, "chatbots/chatbot_create.html", {"form": form})


def pipeline_page_url(chatbot: Chatbot) -> str:
    """The chatbot's visual pipeline editor page."""
    return reverse("chatbots:pipeline_edit", args=[chatbot.pk])


@members()
def chatbot_build_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    """The LLM step of a start → LLM → end chatbot as a form; other shapes point to the visual editor."""
    chatbot = _chatbot(chatbot_id)
    node = selectors.simple_llm_node(chatbot.pipeline.graph)
    context: dict[str, Any] = {"chatbot": chatbot, "editor_url": pipeline_page_url(chatbot), "node": node}
    membership = request.membership  # type: ignore[attr-defined]
    can_edit = membership.role_enum.at_least(Role.EDITOR) and not chatbot.is_archived
    if node is None:
        return render(request, "chatbots/chatbot_build.html", context)
    form = LlmNodeForm(
        request.POST if request.method == "POST" else None,
        params=node.get("params") or {},
        base_revision=chatbot.pipeline.edit_revision,
    )
    if request.method == "POST" and not can_edit:
        messages.error(request, "This chatbot is archived: unarchive it to change it.")
        return redirect("chatbots:chatbot_build", chatbot_id=chatbot.pk)
    if request.method == "POST" and form.is_valid():
        try:
            services.chatbot_llm_update(
                chatbot=chatbot,
                actor=request.user,
                base_revision=form.cleaned_data["base_revision"],
                **form.service_kwargs(),
            )
        except ApplicationError as exc:
            _add_service_errors(form, exc, "prompt")
        else:
            messages.success(request, "Saved. Chat with the working copy to try it; publish a version when ready.")
            return redirect("chatbots:chatbot_build", chatbot_id=chatbot.pk)
    context.update(form=form, can_edit=can_edit, variables=PROMPT_VARIABLES)
    return render(request, "chatbots/chatbot_build.html", context)


chatbot_build_view.write_role = Role.EDITOR  # type: ignore[attr-defined]


@members()
def chatbot_detail_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    versions = list(selectors.version_list(chatbot=chatbot)[:5])
    return render(request, "chatbots/chatbot_detail.html", {"chatbot": chatbot, "versions": versions})


@members(Role.EDITOR)
def chatbot_settings_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    form = ChatbotSettingsForm(request.POST or None, instance=chatbot)
    if request.method == "POST" and form.is_valid():
        changes = {field: form.cleaned_data[field] for field in form.changed_data}
        chatbot.refresh_from_db()
        if changes:
            services.chatbot_update(chatbot=chatbot, actor=request.user, **changes)
            messages.success(request, "Settings saved. They reach participants when you publish a new version.")
        return redirect("chatbots:chatbot_detail", chatbot_id=chatbot.pk)
    return render(request, "chatbots/chatbot_settings.html", {"chatbot": chatbot, "form": form})


@members(Role.EDITOR)
@require_POST
def chatbot_copy_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    copy = services.chatbot_copy(chatbot=chatbot, name=f"{chatbot.name} (copy)", actor=request.user)
    messages.success(request, f"Copied to “{copy.name}”.")
    return redirect("chatbots:chatbot_detail", chatbot_id=copy.pk)


@members(Role.EDITOR)
@require_POST
def chatbot_archive_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    if chatbot.is_archived:
        services.chatbot_unarchive(chatbot=chatbot, actor=request.user)
        messages.success(request, f"“{chatbot.name}” is active again.")
    else:
        services.chatbot_archive(chatbot=chatbot, actor=request.user)
        messages.success(request, f"Archived “{chatbot.name}”. Its channels stop answering.")
    return redirect("chatbots:chatbot_detail", chatbot_id=chatbot.pk)


@members()
def version_list_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    page = Paginator(selectors.version_list(chatbot=chatbot), 20).get_page(request.GET.get("page"))
    return render(
        request, "chatbots/version_list.html", {"chatbot": chatbot, "page": page, "form": VersionCreateForm()}
    )


@members(Role.EDITOR)
@require_POST
def version_create_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    form = VersionCreateForm(request.POST)
    if form.is_valid():
        try:
            version = services.version_create(chatbot=chatbot, actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            errors: list[dict[str, str]] = exc.extra.get("errors", [])  # type: ignore[assignment]
            details = [str(error.get("message", "")) for error in errors[:3]]
            messages.error(request, " ".join([exc.message, *details]))
        else:
            chatbot.refresh_from_db()
            published = " and published it" if chatbot.published_version_id == version.pk else ""
            messages.success(request, f"Created version {version.number}{published}.")
    return redirect("chatbots:version_list", chatbot_id=chatbot.pk)


@members(Role.EDITOR)
@require_POST
def version_publish_view(request: HttpRequest, chatbot_id: int, number: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    services.version_publish(version=_version(chatbot, number), actor=request.user)
    messages.success(request, f"Version {number} is now published: channels serve it.")
    return redirect("chatbots:version_list", chatbot_id=chatbot.pk)


@members(Role.EDITOR)
@require_POST
def version_revert_view(request: HttpRequest, chatbot_id: int, number: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)
    services.chatbot_revert(chatbot=chatbot, version=_version(chatbot, number), actor=request.user)
    messages.success(request, f"The working copy now matches version {number}. Versions were not changed.")
    return redirect("chatbots:chatbot_detail", chatbot_id=chatbot.pk)


@members()
def version_compare_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    chatbot = _chatbot(chatbot_id)

    def pick(value: str | None) -> ChatbotVersion | None:
        if not value or value == "working":
            return None
        if not value.isdigit():
            raise Http404
        return _version(chatbot, int(value))

    a_param, b_param = request.GET.get("a", ""), request.GET.get("b", "working")
    a, b = pick(a_param), pick(b_param)
    comparison = selectors.version_compare(chatbot=chatbot, a=a, b=b)
    return render(
        request,
        "chatbots/version_compare.html",
        {
            "chatbot": chatbot,
            "comparison": comparison,
            "a": a,
            "b": b,
            "a_param": a_param or "working",
            "b_param": b_param,
            "versions": selectors.version_list(chatbot=chatbot),
        },
    )


@members()
def consent_form_list_view(request: HttpRequest) -> HttpResponse:
    return render(request, "chatbots/consent_form_list.html", {"forms": selectors.consent_form_list()})


@members(Role.EDITOR)
def consent_form_edit_view(request: HttpRequest, form_id: int | None = None) -> HttpResponse:
    instance = None
    if form_id is not None:
        instance = selectors.consent_form_get(form_id=form_id)
        if instance is None:
            raise Http404
    form = ConsentFormForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        saved = services.consent_form_save(form=instance, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Saved consent form “{saved.name}”.")
        return redirect("chatbots:consent_form_list")
    return render(request, "chatbots/consent_form_edit.html", {"form": form, "instance": instance})


@members(Role.EDITOR)
@require_POST
def consent_form_delete_view(request: HttpRequest, form_id: int) -> HttpResponse:
    instance = selectors.consent_form_get(form_id=form_id)
    if instance is None:
        raise Http404
    try:
        services.consent_form_delete(form=instance, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Consent form deleted.")
    return redirect(reverse("chatbots:consent_form_list"))

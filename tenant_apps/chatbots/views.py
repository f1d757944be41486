"""Chatbot pages on the team host: list, create, settings, versions, consent forms. Adapters only."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError, NotFoundError
from tenant_apps.chatbots import selectors, services
from tenant_apps.chatbots.forms import ChatbotCreateForm, ChatbotSettingsForm, ConsentFormForm, VersionCreateForm
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


@members(Role.EDITOR)
def chatbot_create_view(request: HttpRequest) -> HttpResponse:
    form = ChatbotCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            chatbot = services.chatbot_create(created_by=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error("name", exc.message)
        else:
            messages.success(request, f"Created “{chatbot.name}”. Chat with it, then create a version to publish it.")
            return redirect("chatbots:chatbot_detail", chatbot_id=chatbot.pk)
    return render(request, "chatbots/chatbot_create.html", {"form": form})


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

"""Channel pages of a chatbot (editors): list and add, configure, enable or disable, delete (with confirmation),
rotate the widget key or the signing secret. Each channel page shows its URLs, setup steps and recent deliveries;
the widget's shows the embed snippets and a live preview."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError, NotFoundError
from tenant_apps.channels import selectors, services
from tenant_apps.channels.enums import ChannelKind
from tenant_apps.channels.forms import ChannelCreateForm, ChannelSettingsForm
from tenant_apps.channels.models import Channel
from tenant_apps.channels.platforms import ConnectionResult, platform_for
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.chatbots.models import Chatbot
from tenants.access import members
from tenants.enums import Role

NPM_WIDGET_VERSION = "0.6.0"


def _chatbot(chatbot_id: int) -> Chatbot:
    try:
        return chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


def _channel(chatbot: Chatbot, channel_id: int) -> Channel:
    try:
        channel = selectors.channel_get(channel_id=channel_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    if channel.chatbot_id != chatbot.pk:
        raise Http404("No such channel.")
    return channel


@members(Role.VIEWER)
def channel_list_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    """GET: the chatbot's channels. POST (editors): add one and go to its page."""
    chatbot = _chatbot(chatbot_id)
    form = ChannelCreateForm(request.POST or None)
    if request.method == "POST":
        if not _is_editor(request):
            raise Http404
        if form.is_valid():
            try:
                channel = services.channel_create(
                    chatbot=chatbot,
                    kind=form.cleaned_data["kind"],
                    name=form.cleaned_data["name"],
                    provider=form.cleaned_data.get("provider"),
                    user=request.user,
                )
            except ApplicationError as exc:
                field = exc.extra.get("field")
                form.add_error(field if isinstance(field, str) and field in form.fields else None, exc.message)
            else:
                messages.success(request, f"Added the channel “{channel.name}”.")
                if channel.kind == ChannelKind.CUSTOM_API:
                    return _secret_once(request, channel)
                return redirect("channels:channel_detail", chatbot_id=chatbot.pk, channel_id=channel.pk)
    context = {
        "chatbot": chatbot,
        "channels": selectors.channel_list(chatbot_id=chatbot.pk),
        "form": form,
        "tab": "channels",
    }
    return render(request, "channels/channel_list.html", context, status=422 if form.errors else 200)


channel_list_view.write_role = Role.EDITOR  # type: ignore[attr-defined]  # adding needs an editor


def _is_editor(request: HttpRequest) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role_enum.at_least(Role.EDITOR)


def _initial(channel: Channel) -> dict[str, Any]:
    initial: dict[str, Any] = {"name": channel.name, "disabled_message": channel.disabled_message}
    if channel.kind == ChannelKind.WIDGET:
        initial.update(allowed_domains="\n".join(channel.allowed_domains), auth_level=channel.auth_level)
    elif platform_for(channel.kind) is not None:
        initial.update(channel.config, provider=channel.provider_id)
    else:
        initial["callback_url"] = channel.callback_url
    return initial


@members(Role.VIEWER)
def channel_detail_view(request: HttpRequest, chatbot_id: int, channel_id: int) -> HttpResponse:
    """GET: the channel's settings, URLs, setup and recent deliveries. POST (editors): save the settings."""
    chatbot = _chatbot(chatbot_id)
    channel = _channel(chatbot, channel_id)
    form = ChannelSettingsForm.for_kind(channel.kind, request.POST or None, initial=_initial(channel))
    if request.method == "POST":
        if not _is_editor(request):
            raise Http404
        if form.is_valid():
            data = dict(form.cleaned_data)
            name, disabled = data.pop("name"), data.pop("disabled_message")
            try:
                services.channel_update(
                    channel=channel, name=name, disabled_message=disabled, config=data, user=request.user
                )
            except ApplicationError as exc:
                field = exc.extra.get("field")
                form.add_error(field if isinstance(field, str) and field in form.fields else None, exc.message)
            else:
                messages.success(request, "Channel settings saved.")
                return redirect("channels:channel_detail", chatbot_id=chatbot.pk, channel_id=channel.pk)
    return render(
        request,
        "channels/channel_detail.html",
        _detail_context(request, chatbot, channel, form),
        status=422 if form.errors else 200,
    )


channel_detail_view.write_role = Role.EDITOR  # type: ignore[attr-defined]  # saving needs an editor


def _detail_context(request: HttpRequest, chatbot: Chatbot, channel: Channel, form: Any) -> dict[str, Any]:
    base = request.build_absolute_uri("/").rstrip("/")
    context: dict[str, Any] = {
        "chatbot": chatbot,
        "channel": channel,
        "form": form,
        "tab": "channels",
        "deliveries": selectors.delivery_list(channel=channel),
        "api_base": base,
        "published": chatbot.published_version_id is not None,
        "can_edit": _is_editor(request),
    }
    if channel.kind == ChannelKind.WIDGET:
        attrs = {
            "chatbot-id": str(chatbot.public_id),
            "api-base-url": base,
            "embed-key": channel.embed_key or "",
            "button-text": "Chat with us",
            "position": "right",
        }
        context["npm_version"] = NPM_WIDGET_VERSION
        context["static_url"] = settings.STATIC_URL
        context["widget_attrs"] = attrs
        context["preview_attrs_json"] = json.dumps(attrs)
        context["vendor_src"] = f"{settings.STATIC_URL}vendor/open-chat-studio-widget/open-chat-studio-widget.esm.js"
    elif (platform := platform_for(channel.kind)) is not None:
        context["platform"] = platform
        context["webhook_url"] = platform.webhook_url(channel, base)
        # Not ``platform.test_connection`` in the template: Django would call it (without its argument).
        context["can_test"] = platform.test_connection is not None
    else:
        context["inbound_url"] = f"{base}/api/channels/{channel.public_id}/messages/"
    return context


@members(Role.EDITOR)
@require_POST
def channel_test_view(request: HttpRequest, chatbot_id: int, channel_id: int) -> HttpResponse:
    """Test connection: ask the platform whether the channel's credentials and settings work (nothing is sent to
    a participant); the answer is shown as a message on the channel page."""
    channel = _channel(_chatbot(chatbot_id), channel_id)
    platform = platform_for(channel.kind)
    if platform is None or platform.test_connection is None:
        result = ConnectionResult(False, "This channel talks to no messaging platform: there is no connection to test.")
    else:
        try:
            result = platform.test_connection(channel)
        except ApplicationError as exc:
            result = ConnectionResult(False, exc.message)
    (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("channels:channel_detail", chatbot_id=chatbot_id, channel_id=channel.pk)


@members(Role.EDITOR)
@require_POST
def channel_toggle_view(request: HttpRequest, chatbot_id: int, channel_id: int) -> HttpResponse:
    channel = _channel(_chatbot(chatbot_id), channel_id)
    services.channel_set_enabled(channel=channel, enabled=not channel.enabled, user=request.user)
    messages.success(request, f"“{channel.name}” is {'enabled' if channel.enabled else 'disabled'}.")
    return redirect("channels:channel_detail", chatbot_id=chatbot_id, channel_id=channel.pk)


@members(Role.EDITOR)
@require_POST
def channel_rotate_view(request: HttpRequest, chatbot_id: int, channel_id: int) -> HttpResponse:
    """A new embed key (widget) or signing secret (custom API); the old one stops working at once."""
    channel = _channel(_chatbot(chatbot_id), channel_id)
    if channel.kind == ChannelKind.WIDGET:
        services.widget_key_rotate(channel=channel, user=request.user)
        messages.success(request, "New embed key. Update the snippet on your site: the old key no longer works.")
        return redirect("channels:channel_detail", chatbot_id=chatbot_id, channel_id=channel.pk)
    services.signing_secret_rotate(channel=channel, user=request.user)
    return _secret_once(request, channel)


def _secret_once(request: HttpRequest, channel: Channel) -> HttpResponse:
    response = render(
        request,
        "channels/channel_secret.html",
        {"chatbot": channel.chatbot, "channel": channel, "secret": channel.secrets.reveal()["signing_secret"]},
    )
    response["Cache-Control"] = "no-store"  # the one response that carries the secret
    return response


@members(Role.EDITOR)
def channel_delete_view(request: HttpRequest, chatbot_id: int, channel_id: int) -> HttpResponse:
    """GET: confirm. POST: delete (its sessions and messages stay with the chatbot)."""
    chatbot = _chatbot(chatbot_id)
    channel = _channel(chatbot, channel_id)
    if request.method == "POST":
        services.channel_delete(channel=channel, user=request.user)
        messages.success(request, f"Deleted the channel “{channel.name}”.")
        return redirect("channels:channel_list", chatbot_id=chatbot.pk)
    return render(request, "channels/channel_delete.html", {"chatbot": chatbot, "channel": channel, "tab": "channels"})

"""The pipeline editor's pages: the working copy (editable), a version (read-only) and a visual diff of two.

Adapters only. The page carries the editor's configuration (which pipeline, which endpoints, read-only or not);
the React bundle (``assets/pipeline_editor``, loaded only by these pages) fetches the node types, the options and
the graph from the pipelines API and saves through it. The diff page embeds the two graphs and the server's
comparison (``versioning.compare``), so the editor draws exactly the changes the Versions → Compare page lists.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from tenant_apps.chatbots import selectors
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.chatbots.views import _chatbot, _version
from tenants.access import members
from tenants.enums import Role


def _editor_config(request: HttpRequest, chatbot: Chatbot, **more: Any) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    can_edit = membership is not None and membership.role_enum.at_least(Role.EDITOR)
    return {
        "chatbot": {"id": chatbot.pk, "name": chatbot.name},
        "urls": {
            "node_types": reverse("pipelines:node_type_list"),
            "node_options": reverse("pipelines:node_options"),
            "editor": reverse("chatbots:pipeline_edit", args=[chatbot.pk]),
            "versions": reverse("chatbots:version_list", args=[chatbot.pk]),
            "test_send": reverse("conversations:pipeline_test_send", args=[chatbot.pk]),
        },
        "can_edit": can_edit and not chatbot.is_archived,
        **more,
    }


def _render(request: HttpRequest, chatbot: Chatbot, config: dict[str, Any], **context: Any) -> HttpResponse:
    return render(request, "chatbots/pipeline_edit.html", {"chatbot": chatbot, "editor_config": config, **context})


@members()
def pipeline_edit_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    """The working copy's pipeline: editable by editors, read-only for viewers and archived chatbots."""
    chatbot = _chatbot(chatbot_id)
    config = _editor_config(
        request,
        chatbot,
        mode="edit",
        pipeline_url=reverse("pipelines:pipeline_detail", args=[chatbot.pipeline_id]),
    )
    config["read_only"] = not config["can_edit"]
    return _render(request, chatbot, config, tab="pipeline")


@members()
def version_pipeline_view(request: HttpRequest, chatbot_id: int, number: int) -> HttpResponse:
    """A version's frozen pipeline, read-only."""
    chatbot = _chatbot(chatbot_id)
    version = _version(chatbot, number)
    config = _editor_config(
        request,
        chatbot,
        mode="edit",
        read_only=True,
        version={"number": version.number, "description": version.description},
        pipeline_url=reverse("pipelines:pipeline_detail", args=[version.pipeline_id]),
    )
    return _render(request, chatbot, config, version=version, tab="versions")


@members()
def version_diff_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    """Two pipelines side by side (``?a=`` and ``?b=``: a version number or ``working``), changes highlighted."""
    chatbot = _chatbot(chatbot_id)
    a_param, b_param = request.GET.get("a", "working"), request.GET.get("b", "working")
    a, b = _pick(chatbot, a_param), _pick(chatbot, b_param)
    comparison = selectors.version_compare(chatbot=chatbot, a=a, b=b)
    config = _editor_config(
        request,
        chatbot,
        mode="diff",
        read_only=True,
        diff={
            "a": _side(chatbot, a),
            "b": _side(chatbot, b),
            "changes": [change.as_dict() for change in comparison.pipeline_changes],
        },
    )
    versions = list(selectors.version_list(chatbot=chatbot).values_list("number", flat=True))
    return _render(
        request, chatbot, config, a_param=a_param, b_param=b_param, versions=versions, diff=True, tab="versions"
    )


def _pick(chatbot: Chatbot, value: str) -> ChatbotVersion | None:
    if value in ("", "working"):
        return None
    if not value.isdigit():
        raise Http404
    return _version(chatbot, int(value))


def _side(chatbot: Chatbot, version: ChatbotVersion | None) -> dict[str, Any]:
    if version is None:
        return {"label": "Working copy", "graph": chatbot.pipeline.graph}
    return {"label": f"Version {version.number}", "graph": version.pipeline.graph}

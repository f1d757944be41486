"""Reads of chatbots and versions, and the runtime view of one (what a session runs)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Count, QuerySet

from shared_apps.core.exceptions import NotFoundError
from shared_apps.core.prepared import PreparedQuery, as_uuid
from tenant_apps.chatbots import versioning
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion, ConsentForm
from tenant_apps.pipelines.models import Pipeline


def chatbot_list(*, archived: bool = False, search: str = "") -> QuerySet[Chatbot]:
    """Active chatbots, or only the archived ones."""
    qs = Chatbot.objects.select_related("published_version").annotate(version_count=Count("versions"))
    qs = qs.filter(archived_at__isnull=not archived)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.order_by("name", "id")


def chatbot_get(*, chatbot_id: int) -> Chatbot:
    chatbot = (
        Chatbot.objects.select_related("pipeline", "published_version", "consent_form").filter(pk=chatbot_id).first()
    )
    if chatbot is None:
        raise NotFoundError(code="chatbot.not_found", message="No such chatbot.")
    return chatbot


# Every public-link page and session start reads it: compiled once per process (ADR 0040).
_PUBLIC_CHATBOT = PreparedQuery(
    lambda public_id: Chatbot.objects.select_related("published_version", "consent_form").filter(
        public_id=public_id, is_public=True, archived_at__isnull=True
    )[:1],
    public_id=uuid.UUID,
)


def chatbot_get_public(*, public_id: Any) -> Chatbot:
    public_uuid = as_uuid(public_id)
    chatbot = _PUBLIC_CHATBOT.first(public_id=public_uuid) if public_uuid else None
    if chatbot is None:
        raise NotFoundError(code="chatbot.not_found", message="No such chatbot.")
    return chatbot


def version_list(*, chatbot: Chatbot) -> QuerySet[ChatbotVersion]:
    return chatbot.versions.select_related("created_by").order_by("-number")


def version_get(*, chatbot: Chatbot, number: int) -> ChatbotVersion:
    version = chatbot.versions.select_related("pipeline").filter(number=number).first()
    if version is None:
        raise NotFoundError(code="chatbot.version_not_found", message="No such version.")
    return version


def consent_form_list() -> QuerySet[ConsentForm]:
    return ConsentForm.objects.annotate(chatbot_count=Count("chatbots")).order_by("name")


def consent_form_get(*, form_id: int) -> ConsentForm | None:
    return ConsentForm.objects.filter(pk=form_id).first()


@dataclass(frozen=True)
class ConsentSnapshot:
    name: str
    consent_text: str
    confirmation_text: str


@dataclass(frozen=True)
class BotConfig:
    """What a session runs: settings and pipeline of the working copy or of one version."""

    chatbot_id: int
    version_id: int | None
    version_number: int | None
    name: str
    seed_message: str
    participant_allowlist: tuple[str, ...]
    file_uploads_enabled: bool
    consent: ConsentSnapshot | None
    source: Chatbot | ChatbotVersion = field(repr=False, compare=False)  # the working copy or the version

    @cached_property
    def pipeline(self) -> Pipeline:
        """Loaded on first use: pages and session starts need only the settings."""
        return self.source.pipeline


def bot_config(*, chatbot: Chatbot, version: ChatbotVersion | None) -> BotConfig:
    settings = versioning.settings_snapshot(chatbot, parts=False) if version is None else version.snapshot
    consent = settings.get("consent")
    return BotConfig(
        chatbot_id=chatbot.pk,
        version_id=version.pk if version else None,
        version_number=version.number if version else None,
        name=settings["name"],
        seed_message=settings["seed_message"],
        participant_allowlist=tuple(settings["participant_allowlist"]),
        file_uploads_enabled=settings["file_uploads_enabled"],
        consent=ConsentSnapshot(consent["name"], consent["consent_text"], consent["confirmation_text"])
        if consent
        else None,
        source=chatbot if version is None else version,
    )


def version_compare(*, chatbot: Chatbot, a: ChatbotVersion | None, b: ChatbotVersion | None) -> versioning.Comparison:
    """Differences from ``a`` to ``b``; None stands for the working copy."""

    def parts(version: ChatbotVersion | None) -> tuple[dict[str, Any], dict[str, Any]]:
        if version is None:
            return versioning.settings_snapshot(chatbot), chatbot.pipeline.graph
        return version.snapshot, version.pipeline.graph

    settings_a, graph_a = parts(a)
    settings_b, graph_b = parts(b)
    return versioning.compare(settings_a, graph_a, settings_b, graph_b)


SIMPLE_SHAPE = ("start", "llm", "end")


def simple_llm_node(graph: Any) -> dict[str, Any] | None:
    """The LLM node of a start → LLM → end pipeline (the shape the Build tab edits as a form), else None.

    Exactly three nodes of those types, wired start → LLM → end by exactly two edges on the default handles.
    Anything else (a router, a second LLM, a template, extra edges) is the visual editor's.
    """
    if not isinstance(graph, dict):
        return None
    nodes, edges = graph.get("nodes"), graph.get("edges")
    if not isinstance(nodes, list) or not isinstance(edges, list) or len(nodes) != 3 or len(edges) != 2:
        return None
    by_type: dict[str, dict[str, Any]] = {}
    for node in nodes:
        if not isinstance(node, dict) or node.get("type") not in SIMPLE_SHAPE or node.get("type") in by_type:
            return None
        by_type[node["type"]] = node
    start, llm, end = (by_type[name].get("id") for name in SIMPLE_SHAPE)
    wired = {
        (edge.get("source"), edge.get("target"), edge.get("source_handle") or "output")
        for edge in edges
        if isinstance(edge, dict)
    }
    if wired != {(start, llm, "output"), (llm, end, "output")}:
        return None
    return by_type["llm"]


def chatbot_count() -> int:
    """Active chatbots: what a plan's chatbot limit counts (``BILLING_CHATBOT_COUNTER``)."""
    return Chatbot.objects.filter(archived_at__isnull=True).count()


def chatbot_choices() -> list[tuple[int, str]]:
    """Active chatbots as (id, name), for per-chatbot spend caps (``BILLING_CHATBOT_CHOICES``)."""
    return list(Chatbot.objects.filter(archived_at__isnull=True).order_by("name", "id").values_list("pk", "name"))

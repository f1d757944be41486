"""``/api/v1/chatbots/``: chatbots (CRUD and settings), their pipeline graph, versions and setting options.

Adapters only: every write is the service the UI calls (``chatbots.services``, ``pipelines.services``), so the
API and the pages enforce the same rules and record the same audit entries.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tenant_apps.api.conventions import RequestInvalidError, ResourceApiView
from tenant_apps.chatbots import selectors, services
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.chatbots.selectors import version_compare
from tenant_apps.pipelines import selectors as pipeline_selectors
from tenant_apps.pipelines import services as pipeline_services
from tenant_apps.pipelines.models import Pipeline
from tenants.enums import Role


def _actor(request: Request) -> Any:
    return request.user if getattr(request.user, "pk", None) else None


class ChatbotOutputSerializer(serializers.Serializer):
    """A chatbot as the API answers it (``chatbot_payload``)."""

    id = serializers.IntegerField()
    public_id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    seed_message = serializers.CharField(allow_blank=True)
    participant_allowlist = serializers.ListField(child=serializers.CharField())
    consent_form_id = serializers.IntegerField(allow_null=True)
    file_uploads_enabled = serializers.BooleanField()
    is_public = serializers.BooleanField()
    published_version = serializers.IntegerField(allow_null=True, help_text="Its number; null before publishing.")
    pipeline_id = serializers.IntegerField()
    archived = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class VersionOutputSerializer(serializers.Serializer):
    """A chatbot version (``version_payload``): its frozen settings."""

    number = serializers.IntegerField()
    description = serializers.CharField(allow_blank=True)
    published = serializers.BooleanField()
    settings = serializers.JSONField(help_text="The settings frozen into this version.")
    created_at = serializers.DateTimeField()


class VersionDetailOutputSerializer(VersionOutputSerializer):
    graph = serializers.JSONField(help_text="The version's pipeline graph.")


class PipelineErrorSerializer(serializers.Serializer):
    """One validation error of a graph, on a node, an edge or the whole graph (the editor's own)."""

    code = serializers.CharField()
    message = serializers.CharField()
    node_id = serializers.CharField(allow_null=True)
    edge_id = serializers.CharField(allow_null=True)
    field = serializers.CharField(allow_null=True)


class PipelineOutputSerializer(serializers.Serializer):
    """The working copy's pipeline (``pipeline_payload``) with every validation error, as the editor shows them."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    graph = serializers.JSONField()
    edit_revision = serializers.IntegerField(help_text="Send it back as ``base_revision``.")
    errors = PipelineErrorSerializer(many=True)  # type: ignore[assignment]  # popped into _declared_fields


def chatbot_payload(chatbot: Chatbot) -> dict[str, Any]:
    published = chatbot.published_version
    return {
        "id": chatbot.pk,
        "public_id": str(chatbot.public_id),
        "name": chatbot.name,
        "description": chatbot.description,
        "seed_message": chatbot.seed_message,
        "participant_allowlist": list(chatbot.participant_allowlist or []),
        "consent_form_id": chatbot.consent_form_id,
        "file_uploads_enabled": chatbot.file_uploads_enabled,
        "is_public": chatbot.is_public,
        "published_version": published.number if published else None,
        "pipeline_id": chatbot.pipeline_id,
        "archived": chatbot.archived_at is not None,
        "created_at": chatbot.created_at.isoformat(),
        "updated_at": chatbot.updated_at.isoformat(),
    }


def version_payload(version: ChatbotVersion, *, published_id: int | None) -> dict[str, Any]:
    return {
        "number": version.number,
        "description": version.description,
        "published": version.pk == published_id,
        "settings": version.snapshot,
        "created_at": version.created_at.isoformat(),
    }


def pipeline_payload(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "id": pipeline.pk,
        "name": pipeline.name,
        "graph": pipeline.graph,
        "edit_revision": pipeline.edit_revision,
        "errors": [error.as_dict() for error in pipeline_selectors.pipeline_errors(pipeline=pipeline)],
    }


class ChatbotListApi(ResourceApiView):
    """``GET``: chatbots (``?archived=true``, ``?search=``, ``?ordering=name|created_at``). ``POST``: create one
    with the default start → LLM → end pipeline (editors; ``Idempotency-Key`` honoured)."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR
    ordering_fields = ("name", "created_at", "updated_at")
    idempotent = True
    output_serializer = ChatbotOutputSerializer
    output_paginated = True

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        description = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
        llm_provider_id = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1)
        llm_model = serializers.CharField(required=False, max_length=200)
        prompt = serializers.CharField(required=False, max_length=50_000)
        temperature = serializers.FloatField(required=False, min_value=0, max_value=2)

    @extend_schema(
        parameters=[
            OpenApiParameter("archived", bool, description="Archived chatbots instead of the active ones."),
            OpenApiParameter("search", str, description="Name or description contains (up to 120 characters)."),
        ]
    )
    def get(self, request: Request) -> Response:
        archived = request.query_params.get("archived", "") in ("1", "true")
        search = request.query_params.get("search", "")[:120]
        queryset = self.ordered(request, selectors.chatbot_list(archived=archived, search=search))
        return self.paginated(request, queryset, chatbot_payload)

    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chatbot = services.chatbot_create(created_by=_actor(request), **serializer.validated_data)
        return Response(chatbot_payload(selectors.chatbot_get(chatbot_id=chatbot.pk)), status=201)


class ChatbotDetailApi(ResourceApiView):
    """``GET`` one chatbot; ``PATCH`` its settings; ``DELETE`` archives it (it can be unarchived in the app)."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR
    output_serializer = ChatbotOutputSerializer

    class UpdateSerializer(serializers.Serializer):
        name = serializers.CharField(required=False, max_length=120)
        description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
        seed_message = serializers.CharField(required=False, allow_blank=True, max_length=5000)
        participant_allowlist = serializers.ListField(
            child=serializers.CharField(max_length=255), required=False, max_length=1000
        )
        consent_form_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1)
        file_uploads_enabled = serializers.BooleanField(required=False)
        is_public = serializers.BooleanField(required=False)

    def get(self, request: Request, chatbot_id: int) -> Response:
        return Response(chatbot_payload(selectors.chatbot_get(chatbot_id=chatbot_id)))

    def patch(self, request: Request, chatbot_id: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        serializer = self.UpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "consent_form_id" in changes:
            form_id = changes.pop("consent_form_id")
            form = selectors.consent_form_get(form_id=form_id) if form_id else None
            if form_id and form is None:
                raise RequestInvalidError(
                    code="chatbot.invalid_consent_form",
                    message="No such consent form.",
                    extra={"field": "consent_form_id"},
                )
            changes["consent_form"] = form
        if changes:
            services.chatbot_update(chatbot=chatbot, actor=_actor(request), **changes)
        return Response(chatbot_payload(selectors.chatbot_get(chatbot_id=chatbot_id)))

    def delete(self, request: Request, chatbot_id: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        services.chatbot_archive(chatbot=chatbot, actor=_actor(request))
        return Response(status=204)


class ChatbotPipelineApi(ResourceApiView):
    """The working copy's graph: ``GET`` with its revision and every validation error; ``PUT`` with
    ``base_revision`` (409 ``pipeline.conflict`` when someone saved since) — the editor's own rules."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR
    output_serializer = PipelineOutputSerializer

    class InputSerializer(serializers.Serializer):
        graph = serializers.JSONField()
        base_revision = serializers.IntegerField(min_value=1, max_value=2**31 - 1)

    def get(self, request: Request, chatbot_id: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        return Response(pipeline_payload(chatbot.pipeline))

    def put(self, request: Request, chatbot_id: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pipeline = pipeline_services.pipeline_update_graph(
            pipeline=chatbot.pipeline,
            graph=serializer.validated_data["graph"],
            base_revision=serializer.validated_data["base_revision"],
        )
        return Response(pipeline_payload(pipeline))


class VersionListApi(ResourceApiView):
    """``GET``: the chatbot's versions, newest first. ``POST``: freeze the working copy into a new version
    (``{"description", "publish"}``; the first version is always published)."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR
    idempotent = True
    default_ordering = ("-number",)
    output_serializer = VersionOutputSerializer
    output_paginated = True

    class InputSerializer(serializers.Serializer):
        description = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
        publish = serializers.BooleanField(required=False, default=False)

    def get(self, request: Request, chatbot_id: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        published = chatbot.published_version_id
        return self.paginated(
            request,
            selectors.version_list(chatbot=chatbot),
            lambda version: version_payload(version, published_id=published),
        )

    def post(self, request: Request, chatbot_id: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = services.version_create(chatbot=chatbot, actor=_actor(request), **serializer.validated_data)
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        return Response(version_payload(version, published_id=chatbot.published_version_id), status=201)


class VersionDetailApi(ResourceApiView):
    required_role = Role.VIEWER
    output_serializer = VersionDetailOutputSerializer

    def get(self, request: Request, chatbot_id: int, number: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        version = selectors.version_get(chatbot=chatbot, number=number)
        payload = version_payload(version, published_id=chatbot.published_version_id)
        payload["graph"] = version.pipeline.graph
        return Response(payload)


class VersionPublishApi(ResourceApiView):
    """``POST``: make this version the one channels serve."""

    required_role = Role.EDITOR
    output_serializer = VersionOutputSerializer

    def post(self, request: Request, chatbot_id: int, number: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)
        version = selectors.version_get(chatbot=chatbot, number=number)
        services.version_publish(version=version, actor=_actor(request))
        return Response(version_payload(version, published_id=version.pk))


class VersionCompareApi(ResourceApiView):
    """``GET ?a=<n>&b=<n>``: what changed from version ``a`` to ``b`` (either omitted: the working copy)."""

    required_role = Role.VIEWER

    @extend_schema(
        parameters=[
            OpenApiParameter(name, {"type": "string", "pattern": r"^([0-9]+|working)$"}, description=text)
            for name, text in (("a", "From: a version number or `working` (default)."), ("b", "To: the same."))
        ]
    )
    def get(self, request: Request, chatbot_id: int) -> Response:
        chatbot = selectors.chatbot_get(chatbot_id=chatbot_id)

        def pick(name: str) -> ChatbotVersion | None:
            value = request.query_params.get(name, "")
            if value in ("", "working"):
                return None
            if not value.isdigit() or len(value) > 9:
                raise RequestInvalidError(
                    code="request.invalid_parameter",
                    message=f"“{name}” is a version number or “working”.",
                    extra={"parameter": name},
                )
            return selectors.version_get(chatbot=chatbot, number=int(value))

        a, b = pick("a"), pick("b")
        comparison = version_compare(chatbot=chatbot, a=a, b=b)
        return Response(
            {
                "a": a.number if a else "working",
                "b": b.number if b else "working",
                "changes": [change.as_dict() for change in comparison.changes],
            }
        )


class ChatbotOptionsApi(ResourceApiView):
    """``GET``: the values each chatbot setting accepts (consent forms, LLM providers with their models, node
    types of the pipeline), so a client can fill a form without guessing."""

    required_role = Role.VIEWER

    def get(self, request: Request, chatbot_id: int) -> Response:
        selectors.chatbot_get(chatbot_id=chatbot_id)
        forms = [{"id": form.pk, "name": form.name} for form in selectors.consent_form_list()]
        node_types = [node["type"] for node in pipeline_selectors.node_type_catalog()]
        return Response(
            {
                "consent_form_id": forms,
                "llm_provider_id": pipeline_selectors.node_options()["llm_providers"],
                "file_uploads_enabled": [True, False],
                "is_public": [True, False],
                "pipeline_node_types": node_types,
                "limits": {"name": 120, "description": 5000, "seed_message": 5000, "participant_allowlist": 1000},
            }
        )

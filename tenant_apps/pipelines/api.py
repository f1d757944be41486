"""JSON endpoints the pipeline editor uses: the node-type catalog, and load/save of one pipeline's graph.

Thin adapters on ``TeamApiView``: access is declared on each view (viewers read, editors save; a full team API
key acts as an editor, a read-only key only reads) and enforced by ``TeamRolePermission``; the work is in
``services`` and ``selectors``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from tenant_apps.pipelines import selectors, services
from tenant_apps.pipelines.models import Pipeline
from tenants.api import TeamApiView
from tenants.enums import Role


def _pipeline_payload(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "id": pipeline.pk,
        "name": pipeline.name,
        "graph": pipeline.graph,
        "edit_revision": pipeline.edit_revision,
        "is_frozen": pipeline.is_frozen,
        "errors": [error.as_dict() for error in selectors.pipeline_errors(pipeline=pipeline)],
    }


class NodeTypeListApi(TeamApiView):
    required_role = Role.VIEWER

    def get(self, request: Request) -> Response:
        return Response({"node_types": selectors.node_type_catalog(), "variables": selectors.EDITOR_VARIABLES})


class NodeOptionsApi(TeamApiView):
    """The choices the editor offers in option fields (``ui:optionsSource``), e.g. LLM providers and models."""

    required_role = Role.VIEWER

    def get(self, request: Request) -> Response:
        return Response(selectors.node_options())


class PipelineDetailApi(TeamApiView):
    """``GET``: graph, revision and every validation error. ``PUT``/``POST``: save (editors), 409 on conflict."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR

    class InputSerializer(serializers.Serializer):
        graph = serializers.JSONField()
        base_revision = serializers.IntegerField(min_value=1)
        name = serializers.CharField(required=False, max_length=200, allow_blank=False)

    def get(self, request: Request, pipeline_id: int) -> Response:
        return Response(_pipeline_payload(selectors.pipeline_get(pipeline_id=pipeline_id)))

    def put(self, request: Request, pipeline_id: int) -> Response:
        pipeline = selectors.pipeline_get(pipeline_id=pipeline_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pipeline = services.pipeline_update_graph(
            pipeline=pipeline,
            graph=serializer.validated_data["graph"],
            base_revision=serializer.validated_data["base_revision"],
            name=serializer.validated_data.get("name"),
        )
        return Response(_pipeline_payload(pipeline))

    def post(self, request: Request, pipeline_id: int) -> Response:
        return self.put(request, pipeline_id)

from django.urls import path

from tenant_apps.pipelines import api

app_name = "pipelines"

urlpatterns = [
    path("pipelines/node-types/", api.NodeTypeListApi.as_view(), name="node_type_list"),
    path("pipelines/node-options/", api.NodeOptionsApi.as_view(), name="node_options"),
    path("pipelines/<int:pipeline_id>/", api.PipelineDetailApi.as_view(), name="pipeline_detail"),
]

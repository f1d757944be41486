"""``/api/openai/``: the OpenAI-compatible endpoint (``tenant_apps.api.openai_compat``, ADR 0111)."""

from django.urls import path

from tenant_apps.api import openai_compat

app_name = "api_openai"

urlpatterns = [
    path("<int:chatbot_id>/chat/completions", openai_compat.ChatCompletionsApi.as_view(), name="chat_completions"),
    path(
        "<int:chatbot_id>/v<int:number>/chat/completions",
        openai_compat.ChatCompletionsApi.as_view(),
        name="chat_completions_version",
    ),
    path("<int:chatbot_id>/models", openai_compat.OpenAIModelsApi.as_view(), name="models"),
]

"""``/api/v1/``: the management API (docs/api.md). Every view is a ``ResourceApiView``: API-key or session auth,
declared roles, throttling, cursor pagination and idempotent creates (``tenant_apps.api.conventions``)."""

from django.urls import path

from tenant_apps.api import api
from tenant_apps.api.resources import channels, chatbots, conversations, providers

app_name = "api_v1"

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="me"),
    # Providers
    path("providers/", providers.ProviderListApi.as_view(), name="provider_list"),
    path("providers/types/", providers.ProviderTypeListApi.as_view(), name="provider_types"),
    path("providers/<int:pk>/", providers.ProviderDetailApi.as_view(), name="provider_detail"),
    # Chatbots, their pipeline and versions
    path("chatbots/", chatbots.ChatbotListApi.as_view(), name="chatbot_list"),
    path("chatbots/<int:chatbot_id>/", chatbots.ChatbotDetailApi.as_view(), name="chatbot_detail"),
    path("chatbots/<int:chatbot_id>/options/", chatbots.ChatbotOptionsApi.as_view(), name="chatbot_options"),
    path("chatbots/<int:chatbot_id>/pipeline/", chatbots.ChatbotPipelineApi.as_view(), name="chatbot_pipeline"),
    path("chatbots/<int:chatbot_id>/versions/", chatbots.VersionListApi.as_view(), name="version_list"),
    path("chatbots/<int:chatbot_id>/versions/compare/", chatbots.VersionCompareApi.as_view(), name="version_compare"),
    path(
        "chatbots/<int:chatbot_id>/versions/<int:number>/", chatbots.VersionDetailApi.as_view(), name="version_detail"
    ),
    path(
        "chatbots/<int:chatbot_id>/versions/<int:number>/publish/",
        chatbots.VersionPublishApi.as_view(),
        name="version_publish",
    ),
    path("chatbots/<int:chatbot_id>/messages/", conversations.BotMessageApi.as_view(), name="bot_message"),
    # Channels
    path("chatbots/<int:chatbot_id>/channels/", channels.ChannelListApi.as_view(), name="channel_list"),
    path(
        "chatbots/<int:chatbot_id>/channels/<int:channel_id>/",
        channels.ChannelDetailApi.as_view(),
        name="channel_detail",
    ),
    path(
        "chatbots/<int:chatbot_id>/channels/<int:channel_id>/rotate-key/",
        channels.ChannelKeyRotateApi.as_view(),
        name="channel_rotate_key",
    ),
    # Conversations
    path("sessions/", conversations.SessionListApi.as_view(), name="session_list"),
    path("sessions/<uuid:session_id>/", conversations.SessionDetailApi.as_view(), name="session_detail"),
    path("sessions/<uuid:session_id>/end/", conversations.SessionEndApi.as_view(), name="session_end"),
    path("sessions/<uuid:session_id>/tags/", conversations.SessionTagsApi.as_view(), name="session_tags"),
    path("sessions/<uuid:session_id>/state/", conversations.SessionStateApi.as_view(), name="session_state"),
    path("sessions/<uuid:session_id>/files/", conversations.SessionFileUploadApi.as_view(), name="session_files"),
    path("participants/", conversations.ParticipantListApi.as_view(), name="participant_list"),
    path(
        "participants/<int:participant_id>/data/",
        conversations.ParticipantDataApi.as_view(),
        name="participant_data",
    ),
]

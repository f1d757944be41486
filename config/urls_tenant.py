"""URLs of a team host (``<slug>.<BASE_DOMAIN>``): the team app. Every view declares its access (tenants.access)."""

from django.urls import include, path

from tenant_apps.analytics import views as analytics_views
from tenants import views as tenant_views

urlpatterns = [
    path("", analytics_views.team_home_view, name="team_home"),
    path("", include("shared_apps.accounts.urls_team")),
    path("", include("tenants.urls_team")),
    path("", include("shared_apps.console.urls_team")),
    path("settings/api-keys/", include("tenant_apps.api.urls")),
    path("settings/audit/", include("tenant_apps.audit.urls")),
    path("settings/billing/", include("shared_apps.billing.urls")),
    path("api/chat/", include(("tenant_apps.channels.urls_chat", "chat"), namespace="chat")),
    path("api/v1/chat/", include(("tenant_apps.channels.urls_chat", "chat"), namespace="chat_v1")),
    path("api/channels/", include("tenant_apps.channels.urls_inbound")),
    path("api/v1/", include("tenant_apps.api.urls_api")),
    path("api/openai/", include("tenant_apps.api.urls_openai")),
    path("api/schema/", include("tenant_apps.api.urls_schema")),
    path("healthz", tenant_views.health_view, name="health"),
    path("readyz", tenant_views.readiness_view, name="ready"),
    path("providers/", include("tenant_apps.providers.urls")),
    path("", include("tenant_apps.pipelines.urls")),
    path("chatbots/", include("tenant_apps.chatbots.urls")),
    path("chatbots/", include("tenant_apps.channels.urls")),
    path("", include("tenant_apps.conversations.urls")),
    path("", include("tenant_apps.events.urls")),
]

# allauth answers a rate-limited request with this view (it looks the handler up in ROOT_URLCONF).
handler429 = "shared_apps.accounts.views.rate_limited_view"
handler400 = "tenants.views.bad_request_view"  # JSON under /api/
handler404 = "tenants.views.not_found_view"  # JSON under /api/
handler500 = "tenants.views.server_error_view"

"""URLs of a team host (``<slug>.<BASE_DOMAIN>``): the team app. Every view declares its access (tenants.access)."""

from django.urls import include, path

from shared_apps.core import views as core_views
from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.team_home_view, name="team_home"),
    path("", include("shared_apps.accounts.urls_team")),
    path("healthz", core_views.health_view, name="health"),
    path("providers/", include("tenant_apps.providers.urls")),
]

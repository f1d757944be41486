"""URLs of the apex (the public tenant): marketing, signup/login, account pages, staff admin, global webhooks."""

from django.contrib import admin
from django.urls import include, path

from shared_apps.accounts import views as account_views
from shared_apps.console import views as console_views
from shared_apps.core import views as core_views
from tenants import views as tenant_views

public_urlpatterns = [
    path("", core_views.public_home_view, name="home"),
]

urlpatterns = [
    path("", include((public_urlpatterns, "public"))),
    path("", include("shared_apps.accounts.urls")),
    path("accounts/signup/", account_views.SignupView.as_view(), name="account_signup"),  # before allauth's
    path("accounts/", include("allauth.urls")),
    path("django-admin/", admin.site.urls),
    path("billing/", include("shared_apps.billing.urls_public")),
    path("webhooks/", include("tenant_apps.channels.urls_global")),
    path("console/", include("shared_apps.console.urls")),
    path("status/", console_views.status_view, name="status"),
    path("healthz", tenant_views.health_view, name="health"),
    path("readyz", tenant_views.readiness_view, name="ready"),
]

handler500 = "tenants.views.server_error_view"

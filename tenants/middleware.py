"""Request routing by host, and the membership gate on team hosts.

``TeamHostMiddleware`` replaces django-tenants' ``TenantMainMiddleware``: same job (host -> team -> search path
and URL conf), but the lookup is served from ``tenants.resolver`` instead of a query per request, the search path
is only re-issued when the schema actually changes, and unknown, provisioning and suspended teams get clear pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.module_loading import import_string

from shared_apps.core.db import connection
from tenants.access import API, CHANNEL, OPEN, view_policy
from tenants.enums import TeamStatus
from tenants.resolver import team_for_host
from tenants.urls import apex_url


class TeamHostMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            hostname = request.get_host().split(":")[0].lower()
        except DisallowedHost:
            return render(request, "errors/unknown_host.html", {"hostname": ""}, status=400)

        team = team_for_host(hostname)
        if team is None:
            if connection.schema_name != "public":
                connection.set_schema_to_public()
            return render(
                request, "errors/unknown_team.html", {"hostname": hostname, "apex": apex_url("/")}, status=404
            )

        if team.is_public:
            if connection.schema_name != "public":
                connection.set_schema_to_public()
            request.tenant = team  # type: ignore[attr-defined]
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF  # type: ignore[attr-defined]
            return self.get_response(request)

        if team.status != TeamStatus.ACTIVE:
            connection.set_schema_to_public()
            return self._inactive(request, team)

        # Re-issuing SET search_path costs a round trip; skip it when this connection already serves the team.
        if connection.schema_name != team.schema_name:
            connection.set_tenant(team)
        request.tenant = team  # type: ignore[attr-defined]
        return self.get_response(request)

    def _inactive(self, request: HttpRequest, team: Any) -> HttpResponse:
        context = {"team": team, "apex": apex_url("/")}
        if team.status == TeamStatus.SUSPENDED:
            return render(request, "errors/team_suspended.html", context, status=403)
        if team.status in (TeamStatus.PROVISIONING, TeamStatus.FAILED):
            return render(request, "errors/team_provisioning.html", context, status=503)
        return render(request, "errors/unknown_team.html", {"hostname": team.slug, **context}, status=404)


class TeamMemberMiddleware:
    """On team hosts, only members reach member views; everyone else gets a 404 (or the login page).

    Sets ``request.membership`` (or None). The view's declared policy decides (see ``tenants.access``).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        team = getattr(request, "tenant", None)
        if team is None or team.is_public:
            return None
        access, role = view_policy(view_func, request.method)
        if access in (OPEN, API, CHANNEL):
            return None
        user = request.user
        if not user.is_authenticated:
            return HttpResponseRedirect(login_url_for(request))
        from tenants.selectors import membership_for

        membership = membership_for(user_id=user.pk, team_id=team.pk)
        if membership is None and user.is_staff:
            membership = _access_fallback(request, team, view_func)
        if membership is None or not membership.role_enum.at_least(role):
            raise Http404("Page not found")
        request.membership = membership  # type: ignore[attr-defined]
        return None


def _access_fallback(request: HttpRequest, team: Any, view_func: Callable[..., Any]) -> Any:
    """``settings.TEAM_ACCESS_FALLBACK`` (a dotted path, so tenants imports no app above it): the membership a
    non-member may borrow, e.g. a staff member's audited read-only visit (shared_apps/console/impersonation.py)."""
    path = getattr(settings, "TEAM_ACCESS_FALLBACK", "")
    if not path:
        return None
    return import_string(path)(request, team, view_func)


def login_url_for(request: HttpRequest) -> str:
    """The apex login page; afterwards the apex hands the browser back to the page asked for on the team host."""
    team = request.tenant  # type: ignore[attr-defined]
    back = f"/go/{team.slug}/?next=" + quote(request.get_full_path(), safe="")
    return apex_url("/accounts/login/") + "?next=" + quote(back, safe="")

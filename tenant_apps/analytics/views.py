from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenant_apps.analytics import selectors
from tenants.access import members


@members()
def team_home_view(request: HttpRequest) -> HttpResponse:
    """The team's start page: the week in numbers, a getting-started checklist, the latest sessions."""
    return render(request, "analytics/team_home.html", {"overview": selectors.team_overview()})

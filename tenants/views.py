from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tenants.access import members


@members()
def team_home_view(request: HttpRequest) -> HttpResponse:
    """The team's start page."""
    return render(request, "tenants/team_home.html")

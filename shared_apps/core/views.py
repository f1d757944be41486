from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from tenants.access import open_access
from tenants.db import connection


@open_access
def health_view(request: HttpRequest) -> JsonResponse:
    """Liveness + database check for load balancers (answers on the apex and on every team host)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def public_home_view(request: HttpRequest) -> HttpResponse:
    if request.GET.get("done") == "logged_out":  # a logout on a team host lands here
        messages.info(request, "You have been logged out.")
    return render(request, "public/home.html")

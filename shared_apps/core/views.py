from __future__ import annotations

import logging

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from tenants.access import open_access
from tenants.db import connection
from tenants.urls import apex_url

logger = logging.getLogger(__name__)


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


def server_error_view(request: HttpRequest) -> HttpResponse:
    """The branded 500 page. Rendered without the request's context processors (no database, no session: they may
    be what failed); the product's name and the apex address come from settings."""
    try:
        apex = apex_url("/")
        body = render_to_string("500.html", {"site_name": settings.SITE_NAME, "apex": apex, "apex_url": apex})
    except Exception:  # the error page must not fail in turn
        logger.exception("error_page.failed")
        return HttpResponseServerError("<h1>Server error (500)</h1>", content_type="text/html")
    return HttpResponseServerError(body)

"""The team's audit log page (admins)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tenant_apps.audit.selectors import audit_event_list
from tenants.access import members
from tenants.enums import Role

FILTERS = [
    ("member.", "Members"),
    ("invitation.", "Invitations"),
    ("team.", "Team"),
    ("api_key.", "API keys"),
]


@members(Role.ADMIN)
@require_GET
def audit_event_list_view(request: HttpRequest) -> HttpResponse:
    prefix = request.GET.get("action", "")[:40]
    page = Paginator(audit_event_list(action_prefix=prefix), 50).get_page(request.GET.get("page"))
    return render(request, "audit/auditevent_list.html", {"page": page, "action": prefix, "filters": FILTERS})

"""Team-host pages for API keys (admins): list, create (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.api import selectors, services
from tenant_apps.api.forms import ApiKeyForm
from tenants.access import members
from tenants.enums import Role


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    page = Paginator(selectors.api_key_list(), 25).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"page": page, "form": ApiKeyForm()}
    context.update(extra)
    return context


@members(Role.ADMIN)
def api_key_list_view(request: HttpRequest) -> HttpResponse:
    """GET: the team's keys. POST: create one and show its secret once (never stored, never shown again)."""
    htmx = bool(getattr(request, "htmx", False))
    template = "api/_apikey_panel.html" if htmx else "api/apikey_list.html"
    if request.method != "POST":
        return render(request, "api/apikey_list.html", _context(request))
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            key, raw = services.api_key_create(
                name=form.cleaned_data["name"], read_only=form.cleaned_data["read_only"], created_by=request.user
            )
        except ApplicationError as exc:
            form.add_error("name", exc.message)
        else:
            response = render(request, template, _context(request, created=key, raw_key=raw))
            response["Cache-Control"] = "no-store"  # the one response that carries the secret
            return response
    return render(request, template, _context(request, form=form), status=200 if htmx else 422)


@members(Role.ADMIN)
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    key = selectors.api_key_get(key_id=key_id)
    if key is None:
        raise Http404("No such key")
    services.api_key_revoke(key=key, actor=request.user)
    messages.success(request, f"The key “{key.name}” was revoked. Requests using it now fail.")
    if getattr(request, "htmx", False):
        return render(request, "api/_apikey_panel.html", _context(request))
    return redirect("api_keys:list")

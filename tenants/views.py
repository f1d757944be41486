"""Pages of the tenancy core: the health check (apex and team hosts), and on team hosts members, invitations and
team settings (htmx).

Who may open each view is declared on it (``@members(Role.X)``) and enforced by ``TeamMemberMiddleware``; the
matrix is docs/permissions.md. Objects are always looked up within ``request.tenant``, so another team's ids
answer 404. Finer rules (owners only touch owners, the last owner stays) live in the services.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST
from django.views.defaults import bad_request, page_not_found
from django_htmx.http import HttpResponseClientRedirect

from shared_apps.accounts.models import User
from shared_apps.core import health
from shared_apps.core.exceptions import ApplicationError
from tenants import exports, selectors
from tenants.access import members, open_access
from tenants.enums import ExportStatus, Role
from tenants.forms import InvitationForm, RoleForm, TeamDeleteForm, TeamRenameForm, role_choices
from tenants.models import Membership, Team
from tenants.services.exports import team_export_request
from tenants.services.invitations import invitation_create, invitation_resend, invitation_revoke
from tenants.services.members import membership_remove, membership_role_change
from tenants.services.teams import team_delete_request, team_rename
from tenants.urls import apex_url

logger = logging.getLogger(__name__)


def _team(request: HttpRequest) -> Team:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]  # member views only run for logged-in users


def _membership(request: HttpRequest) -> Membership:
    return request.membership  # type: ignore[attr-defined,no-any-return]


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@open_access
def health_view(request: HttpRequest) -> JsonResponse:
    """Liveness (``/healthz``): the process answers. ``shared_apps.core.health.HealthMiddleware`` answers it on any
    Host before this view is reached; the route stays so the URL confs name it."""
    return health.liveness_response()


@open_access
def readiness_view(request: HttpRequest) -> JsonResponse:
    """Readiness (``/readyz``): database, Redis and public migrations (see ``shared_apps.core.health``)."""
    return health.readiness_response()


# ------------------------------------------------------------------------------
# Members
# ------------------------------------------------------------------------------


def _member_row_context(request: HttpRequest, membership: Membership, error: str = "") -> dict[str, Any]:
    actor = _membership(request)
    return {
        "m": membership,
        "error": error,
        "role_choices": role_choices(actor_role=actor.role_enum),
        "can_manage": _can_manage(actor, membership),
        "is_self": membership.user_id == actor.user_id,
    }


def _can_manage(actor: Membership, target: Membership) -> bool:
    if not actor.role_enum.at_least(Role.ADMIN):
        return False
    return actor.role_enum == Role.OWNER or target.role_enum != Role.OWNER


@members()
@require_GET
def member_list_view(request: HttpRequest) -> HttpResponse:
    team = _team(request)
    actor = _membership(request)
    page = Paginator(selectors.membership_list(team=team), 50).get_page(request.GET.get("page"))
    rows = [_member_row_context(request, m) for m in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "is_admin": actor.role_enum.at_least(Role.ADMIN),
        "pending_invitations": selectors.invitation_list(team=team).count(),
    }
    return render(request, "tenants/member_list.html", context)


def _member_or_404(request: HttpRequest, membership_id: int) -> Membership:
    membership = selectors.membership_get(team=_team(request), membership_id=membership_id)
    if membership is None:
        raise Http404("No such member")
    return membership


@members(Role.ADMIN)
@require_POST
def member_role_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _member_or_404(request, membership_id)
    form = RoleForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose a valid role."
    else:
        try:
            membership = membership_role_change(
                membership=membership, role=Role(form.cleaned_data["role"]), actor=_user(request)
            )
        except ApplicationError as exc:
            error = exc.message
        membership.refresh_from_db()
    if _htmx(request):
        return render(request, "tenants/_member_row.html", {"row": _member_row_context(request, membership, error)})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{membership.user.email} is now {membership.get_role_display().lower()}.")
    return redirect("team:member_list")


@members(Role.ADMIN)
@require_POST
def member_remove_view(request: HttpRequest, membership_id: int) -> HttpResponse:
    membership = _member_or_404(request, membership_id)
    if membership.user_id == request.user.pk:
        return member_leave_view(request)
    try:
        membership_remove(membership=membership, actor=_user(request))
    except ApplicationError as exc:
        if _htmx(request):
            return render(
                request, "tenants/_member_row.html", {"row": _member_row_context(request, membership, exc.message)}
            )
        messages.error(request, exc.message)
        return redirect("team:member_list")
    if _htmx(request):
        return HttpResponse("")  # the row disappears
    messages.success(request, f"{membership.user.email} was removed from the team.")
    return redirect("team:member_list")


@members()
@require_POST
def member_leave_view(request: HttpRequest) -> HttpResponse:
    """Any member may leave (the last owner may not)."""
    try:
        membership_remove(membership=_membership(request), actor=_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        if _htmx(request):
            return HttpResponseClientRedirect("/members/")
        return redirect("team:member_list")
    target = apex_url(f"/app/teams/?done=left&team={_team(request).slug}")
    return HttpResponseClientRedirect(target) if _htmx(request) else HttpResponseRedirect(target)


# ------------------------------------------------------------------------------
# Invitations
# ------------------------------------------------------------------------------


def _invitation_context(request: HttpRequest, form: InvitationForm | None = None) -> dict[str, Any]:
    team = _team(request)
    actor = _membership(request)
    show_closed = request.GET.get("show") == "all"
    page = Paginator(selectors.invitation_list(team=team, include_closed=show_closed), 25).get_page(
        request.GET.get("page")
    )
    return {
        "form": form or InvitationForm(actor_role=actor.role_enum),
        "page": page,
        "show_closed": show_closed,
    }


@members(Role.ADMIN)
def invitation_list_view(request: HttpRequest) -> HttpResponse:
    """GET: pending invitations and the invite form. POST: send an invitation."""
    if request.method != "POST":
        return render(request, "tenants/invitation_list.html", _invitation_context(request))
    actor = _membership(request)
    form = InvitationForm(request.POST, actor_role=actor.role_enum)
    if form.is_valid():
        try:
            invitation = invitation_create(
                team=_team(request),
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
                invited_by=_user(request),
            )
        except ApplicationError as exc:
            form.add_error("email", exc.message)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            if not _htmx(request):
                return redirect("team:invitation_list")
            form = InvitationForm(actor_role=actor.role_enum)
    template = "tenants/_invitation_panel.html" if _htmx(request) else "tenants/invitation_list.html"
    status = 422 if form.errors and not _htmx(request) else 200  # htmx only swaps 2xx responses
    return render(request, template, _invitation_context(request, form), status=status)


def _invitation_or_404(request: HttpRequest, invitation_id: int) -> Any:
    invitation = selectors.invitation_get(team=_team(request), invitation_id=invitation_id)
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def _invitation_action(
    request: HttpRequest, invitation_id: int, action: Callable[..., object], done: str
) -> HttpResponse:
    """Run ``action`` (resend, revoke) on the team's invitation and answer with the refreshed panel (htmx) or the
    list page, with ``done`` or the service's error as the message."""
    invitation = _invitation_or_404(request, invitation_id)
    try:
        action(invitation=invitation, actor=_user(request))
        messages.success(request, done.format(email=invitation.email))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    if _htmx(request):
        return render(request, "tenants/_invitation_panel.html", _invitation_context(request))
    return redirect("team:invitation_list")


@members(Role.ADMIN)
@require_POST
def invitation_resend_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    return _invitation_action(request, invitation_id, invitation_resend, "A new link was sent to {email}.")


@members(Role.ADMIN)
@require_POST
def invitation_revoke_view(request: HttpRequest, invitation_id: int) -> HttpResponse:
    return _invitation_action(request, invitation_id, invitation_revoke, "The invitation for {email} was revoked.")


# ------------------------------------------------------------------------------
# Team settings: rename, export, delete
# ------------------------------------------------------------------------------


def _settings_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    team = _team(request)
    context = {
        "rename_form": TeamRenameForm(initial={"name": team.name}),
        "delete_form": TeamDeleteForm(),
        "exports": list(selectors.team_export_list(team=team)[:5]),
        "is_owner": _membership(request).role_enum == Role.OWNER,
    }
    context.update(extra)
    return context


@members(Role.ADMIN)
@require_GET
def team_settings_view(request: HttpRequest) -> HttpResponse:
    return render(request, "tenants/team_settings.html", _settings_context(request))


@members(Role.ADMIN)
@require_POST
def team_rename_view(request: HttpRequest) -> HttpResponse:
    form = TeamRenameForm(request.POST)
    if form.is_valid():
        try:
            team_rename(team=_team(request), name=form.cleaned_data["name"], actor=_user(request))
        except ApplicationError as exc:
            form.add_error("name", exc.message)
    if form.errors:
        return render(request, "tenants/team_settings.html", _settings_context(request, rename_form=form), status=422)
    messages.success(request, "The team was renamed.")
    return redirect("team:settings")


@members(Role.OWNER)
@require_POST
def team_delete_view(request: HttpRequest) -> HttpResponse:
    team = _team(request)
    form = TeamDeleteForm(request.POST)
    if form.is_valid():
        try:
            team_delete_request(team=team, actor=_user(request), confirm_slug=form.cleaned_data["confirm_slug"])
        except ApplicationError as exc:
            form.add_error("confirm_slug", exc.message)
    if form.errors:
        return render(request, "tenants/team_settings.html", _settings_context(request, delete_form=form), status=422)
    return HttpResponseRedirect(apex_url(f"/app/teams/?done=deleted&team={team.slug}"))


@members(Role.ADMIN)
@require_POST
def team_export_create_view(request: HttpRequest) -> HttpResponse:
    try:
        export, created = team_export_request(team=_team(request), actor=_user(request))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        created = False
    else:
        if not created:
            messages.info(request, "An export is already running; it appears below.")
    if _htmx(request):
        if not created:
            return render(request, "components/_messages_oob.html", status=200)
        return render(request, "tenants/_export_row.html", {"export": export, "poll": True, "created": True})
    return redirect("team:settings")


@members(Role.ADMIN)
@require_GET
def team_export_status_view(request: HttpRequest, export_id: int) -> HttpResponse:
    """The export's row; the page polls it while the export runs (htmx ``every 1s`` until finished)."""
    export = selectors.team_export_get(team=_team(request), export_id=export_id)
    if export is None:
        raise Http404("No such export")
    return render(request, "tenants/_export_row.html", {"export": export, "poll": not export.is_finished})


@members(Role.ADMIN)
@require_GET
def team_export_download_view(request: HttpRequest, export_id: int) -> FileResponse:
    team = _team(request)
    export = selectors.team_export_get(team=team, export_id=export_id)
    if export is None or export.status != ExportStatus.DONE or not export.file_path:
        raise Http404("No such export")
    path = Path(export.file_path).resolve()
    if exports.export_dir(team.schema_name).resolve() not in path.parents or not path.is_file():
        raise Http404("No such export")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/gzip")


def _api_error(request: HttpRequest, status: int, code: str, message: str) -> JsonResponse | None:
    """The API's JSON error for a request under ``/api/`` that Django itself refused, else None: an API client
    reads errors as data (ADR 0110); the OpenAI-compatible endpoint answers in OpenAI's shape (ADR 0111)."""
    if request.path.startswith("/api/openai/"):
        kind = "not_found_error" if status == 404 else "invalid_request_error"
        error = {"message": message, "type": kind, "param": None, "code": code.split(".")[-1]}
        return JsonResponse({"error": error}, status=status)
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message, "extra": {}}, status=status)
    return None


def not_found_view(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: a path no route matches (``/api/v1/chatbots/abc/``)."""
    api = _api_error(request, 404, "request.not_found", "No such endpoint (see /api/schema/).")
    return api or page_not_found(request, exception)


def bad_request_view(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: Django refused the request before a view could (a ``SuspiciousOperation``: too many
    fields, a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, a malformed multipart body)."""
    api = _api_error(request, 400, "request.malformed", "The request could not be read (malformed or too large).")
    return api or bad_request(request, exception)


def server_error_view(request: HttpRequest) -> HttpResponse:
    """The branded 500 page on every host. Rendered without the request's context processors (no database, no
    session: they may be what failed); the product's name and the apex address come from settings."""
    try:
        apex = apex_url("/")
        body = render_to_string("500.html", {"site_name": settings.SITE_NAME, "apex": apex, "apex_url": apex})
    except Exception:  # the error page must not fail in turn
        logger.exception("error_page.failed")
        return HttpResponseServerError("<h1>Server error (500)</h1>", content_type="text/html")
    return HttpResponseServerError(body)

"""Apex account pages (after login) and the team-host side of the login handoff."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from shared_apps.accounts import handoff
from tenants.access import members, open_access
from tenants.enums import TeamStatus
from tenants.selectors import membership_for, team_get_by_slug, team_list_for_user
from tenants.urls import apex_url, team_url


def _user_id(request: HttpRequest) -> int:
    return int(request.user.pk or 0)  # the views using it require login


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """After login: straight into the only team, or a picker when there are several (or none)."""
    memberships = list(team_list_for_user(user_id=_user_id(request)))
    active = [m for m in memberships if m.team.status == TeamStatus.ACTIVE]
    if len(memberships) == 1 and len(active) == 1:
        return redirect("accounts:team_go", slug=active[0].team.slug)
    return render(request, "accounts/home.html", {"memberships": memberships})


@login_required
def team_go_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Hand the logged-in user over to a team host they belong to (404 for any other team)."""
    team = team_get_by_slug(slug=slug)
    if team is None or membership_for(user_id=_user_id(request), team_id=team.pk) is None:
        raise Http404("No such team")
    if team.status != TeamStatus.ACTIVE:
        return HttpResponseRedirect(team_url(team, "/"))  # the team host explains (provisioning, suspended)
    token = handoff.handoff_token_create(
        user_id=_user_id(request),
        team_id=team.pk,
        next_path=request.GET.get("next", "/"),
        login_group=handoff.login_group_of(request),
    )
    request.session.modified = True
    return HttpResponseRedirect(team_url(team, "/auth/handoff/?token=" + quote(token, safe="")))


@open_access
def handoff_view(request: HttpRequest) -> HttpResponse:
    """Team host: redeem a handoff token, log the user in on this host, continue to the page asked for."""
    team = request.tenant  # type: ignore[attr-defined]
    try:
        payload = handoff.handoff_token_redeem(token=request.GET.get("token", ""), team_id=team.pk)
    except handoff.HandoffError as exc:
        import logging

        logging.getLogger(__name__).warning("handoff.refused", extra={"reason": str(exc)})
        return HttpResponseRedirect(apex_url(f"/go/{team.slug}/"))
    user = get_user_model().objects.filter(pk=payload["u"], is_active=True).first()
    if user is None or membership_for(user_id=user.pk, team_id=team.pk) is None:
        raise Http404("No such team")
    request.handoff_login_group = payload["g"]  # type: ignore[attr-defined]
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect(handoff.safe_next_path(payload["p"]))


@members()
@require_POST
def team_logout_view(request: HttpRequest) -> HttpResponse:
    """Team host: log out here, on the apex and on every other team host of this login."""
    logout(request)
    messages.info(request, "You have been logged out.")
    return HttpResponseRedirect(apex_url("/"))

"""Apex account pages (signup, team picker, setup progress, invitations) and the team-host side of the handoff."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from allauth.account.adapter import get_adapter
from allauth.account.views import SignupView as AllauthSignupView
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from shared_apps.accounts import handoff
from shared_apps.accounts import selectors as account_selectors
from shared_apps.accounts.forms import SignupForm, TeamCreateForm
from shared_apps.core.exceptions import ApplicationError, RateLimitedError
from shared_apps.core.ratelimit import client_ip, rate_limit_enforce, rate_limit_hit
from tenants import selectors
from tenants.access import members, open_access
from tenants.enums import Role, TeamStatus
from tenants.exceptions import TeamSlugError
from tenants.models import Invitation, Membership, Team
from tenants.selectors import membership_for, team_get_by_slug, team_list_for_user
from tenants.services import invitations, teams
from tenants.urls import apex_url, team_url

logger = logging.getLogger(__name__)

INVITATION_SESSION_KEY = "invitation_token"


def _user_id(request: HttpRequest) -> int:
    return int(request.user.pk or 0)  # the views using it require login


# ------------------------------------------------------------------------------
# Signup (apex): account + team, or account through an invitation
# ------------------------------------------------------------------------------


def _session_invitation(request: HttpRequest) -> Invitation | None:
    token = request.session.get(INVITATION_SESSION_KEY)
    if not token:
        return None
    invitation = selectors.invitation_get_by_token(token=str(token))
    return invitation if invitation is not None and invitation.state == "pending" else None


def _forget_invitation(request: HttpRequest) -> None:
    request.session.pop(INVITATION_SESSION_KEY, None)
    request.session.pop("account_verified_email", None)


class SignupView(AllauthSignupView):
    """allauth's signup, plus: the team is created in the same transaction, and invitations prefill the form.

    After submit the user gets allauth's "check your email" page while the team is provisioned in the
    background; the verification link logs them in and lands on the setup progress page (``success_url``).
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        if request.GET.get("invitation") == "none":
            _forget_invitation(request)
        self.invitation = _session_invitation(request)
        self.signup_form: SignupForm | None = None
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        kwargs["invitation"] = self.invitation
        return kwargs

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["invitation"] = self.invitation
        return context

    def form_valid(self, form: SignupForm) -> HttpResponse:
        self.signup_form = form
        try:
            return super().form_valid(form)
        except TeamSlugError as exc:
            form.add_error("subdomain" if "subdomain" in form.fields else None, exc.message)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        return self.form_invalid(form)

    def get_success_url(self) -> str:
        next_url: str | None = self.get_next_url()
        if next_url:
            return next_url
        form = self.signup_form
        if form is not None and form.membership is not None:
            _forget_invitation(self.request)
            messages.success(self.request, f"Welcome to {form.membership.team.name}!")
            return reverse("accounts:team_go", kwargs={"slug": form.membership.team.slug})
        if form is not None and form.team is not None:
            return reverse("accounts:team_setup", kwargs={"slug": form.team.slug})
        return reverse("accounts:home")


@require_GET
def subdomain_check_view(request: HttpRequest) -> HttpResponse:
    """htmx: is this subdomain acceptable? Same rules as submit (``slug_validate``); rate limited per IP."""
    value = request.GET.get("subdomain", "")
    context: dict[str, Any] = {"value": value.strip().lower()}
    if not rate_limit_hit(scope="signup.subdomain_check", ident=client_ip(request)):
        context.update(ok=False, message="Slow down a little, then try again.")
    elif not value.strip():
        context.update(ok=None, message="")
    else:
        try:
            context.update(ok=True, slug=teams.slug_validate(value), message="")
        except TeamSlugError as exc:
            context.update(ok=False, message=exc.message)
    return render(request, "accounts/_subdomain_status.html", context)


# ------------------------------------------------------------------------------
# After login: team picker, new team, setup progress
# ------------------------------------------------------------------------------


def _picker(request: HttpRequest, memberships: list[Membership] | None = None) -> HttpResponse:
    if memberships is None:
        memberships = list(team_list_for_user(user_id=_user_id(request)))
    invitations = list(selectors.invitation_pending_for_user(user_id=_user_id(request)))
    return render(request, "accounts/home.html", {"memberships": memberships, "invitations": invitations})


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """After login: straight into the only team (or its setup page), else the team picker."""
    memberships = list(team_list_for_user(user_id=_user_id(request)))
    if len(memberships) == 1:
        team = memberships[0].team
        if team.status == TeamStatus.ACTIVE:
            return redirect("accounts:team_go", slug=team.slug)
        if team.status in (TeamStatus.PROVISIONING, TeamStatus.FAILED):
            return redirect("accounts:team_setup", slug=team.slug)
    return _picker(request, memberships)


_NOTICES = {"deleted": "The team “{}” was deleted.", "left": "You left the team “{}”."}


@login_required
def team_list_view(request: HttpRequest) -> HttpResponse:
    """The team picker, always (the "Switch team" link, and where leaving or deleting a team lands)."""
    done, slug = request.GET.get("done", ""), request.GET.get("team", "")
    if done in _NOTICES and teams.SLUG_RE.match(slug):
        messages.info(request, _NOTICES[done].format(slug))
    return _picker(request)


@login_required
def team_create_view(request: HttpRequest) -> HttpResponse:
    form = TeamCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rate_limit_enforce(scope="team.create", ident=str(_user_id(request)))
            team = teams.team_create(
                name=form.cleaned_data["organisation"],
                slug=form.cleaned_data["subdomain"],
                owner=request.user,  # type: ignore[arg-type]
            )
        except TeamSlugError as exc:
            form.add_error("subdomain", exc.message)
        except RateLimitedError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("accounts:team_setup", slug=team.slug)
    status = 422 if form.errors else 200
    return render(request, "accounts/team_create.html", {"form": form}, status=status)


def _team_for_member(request: HttpRequest, slug: str) -> tuple[Team, Membership]:
    team = team_get_by_slug(slug=slug)
    membership = membership_for(user_id=_user_id(request), team_id=team.pk) if team is not None else None
    if team is None or membership is None or team.status == TeamStatus.DELETED:
        raise Http404("No such team")
    return team, membership


@login_required
@require_GET
def team_setup_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The progress page while a new team's schema is built; it polls ``team_setup_status_view``.

    A team that is already ready still gets the page (in its "ready" state, which hands over at once), so the
    flow a person sees does not depend on how fast the worker was.
    """
    team, membership = _team_for_member(request, slug)
    return render(request, "accounts/team_setup.html", {"team": team, "membership": membership})


@login_required
@require_GET
def team_setup_status_view(request: HttpRequest, slug: str) -> HttpResponse:
    """htmx poll target: the status block, or a client redirect into the team once it is ready."""
    team, membership = _team_for_member(request, slug)
    if team.status == TeamStatus.ACTIVE:
        return HttpResponseClientRedirect(reverse("accounts:team_go", kwargs={"slug": team.slug}))
    return render(request, "accounts/_team_setup_status.html", {"team": team, "membership": membership})


@login_required
@require_POST
def team_setup_retry_view(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = _team_for_member(request, slug)
    if membership.role_enum != Role.OWNER:
        raise Http404("No such team")
    try:
        teams.team_provision_retry(team=team, actor=request.user)  # type: ignore[arg-type]
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("accounts:team_setup", slug=team.slug)


@login_required
def team_go_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Hand the logged-in user over to a team host they belong to (404 for any other team)."""
    team = team_get_by_slug(slug=slug)
    if team is None or membership_for(user_id=_user_id(request), team_id=team.pk) is None:
        raise Http404("No such team")
    if team.status in (TeamStatus.PROVISIONING, TeamStatus.FAILED):
        return redirect("accounts:team_setup", slug=team.slug)
    if team.status != TeamStatus.ACTIVE:
        return HttpResponseRedirect(team_url(team, "/"))  # the team host explains (suspended, deleted)
    token = handoff.handoff_token_create(
        user_id=_user_id(request),
        team_id=team.pk,
        next_path=request.GET.get("next", "/"),
        login_group=handoff.login_group_of(request),
        messages=[(message.level, message.message) for message in messages.get_messages(request)],  # consumed here
    )
    request.session.modified = True
    return HttpResponseRedirect(team_url(team, "/auth/handoff/?token=" + quote(token, safe="")))


# ------------------------------------------------------------------------------
# Invitations (apex): the link from the email
# ------------------------------------------------------------------------------


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """Show an invitation; logged-in invitees accept it here, new users sign up through it.

    The page never says whether the invited address has an account: it offers both "create account" and
    "log in". Opening the link proves control of the mailbox, so a signup through it needs no second
    verification email (the address is stashed as verified for allauth).
    """
    try:
        rate_limit_enforce(scope="invitation.accept", ident=client_ip(request))
    except RateLimitedError as exc:
        return render(request, "429.html", {"message": exc.message}, status=429)
    invitation = selectors.invitation_get_by_token(token=token)
    if invitation is None:
        return render(request, "accounts/invitation_accept.html", {"state": "invalid"}, status=404)
    state = invitation.state
    user = request.user
    if state == "accepted" and user.is_authenticated and invitation.accepted_by_id == user.pk:
        return redirect("accounts:team_go", slug=invitation.team.slug)
    if state == "pending" and invitation.team.status != TeamStatus.ACTIVE:
        state = "unavailable"
    context: dict[str, Any] = {"invitation": invitation, "state": state, "token": token}
    if state != "pending":
        _forget_invitation(request)
        return render(request, "accounts/invitation_accept.html", context, status=410)
    if not user.is_authenticated:
        request.session[INVITATION_SESSION_KEY] = token
        get_adapter(request).stash_verified_email(request, invitation.email)
        context["login_url"] = reverse("account_login") + "?next=" + quote(request.path, safe="")
        return render(request, "accounts/invitation_accept.html", context)
    if request.method == "POST":
        try:
            membership = invitations.invitation_accept(invitation=invitation, user=user)  # type: ignore[arg-type]
        except ApplicationError as exc:
            context["error"] = exc.message
            return render(request, "accounts/invitation_accept.html", context, status=exc.status_code)
        _forget_invitation(request)
        messages.success(request, f"You joined {membership.team.name} as {membership.get_role_display().lower()}.")
        return redirect("accounts:team_go", slug=membership.team.slug)
    context["email_matches"] = selectors.user_owns_email(user_id=user.pk, email=invitation.email)
    return render(request, "accounts/invitation_accept.html", context)


# ------------------------------------------------------------------------------
# Rate limited (allauth's handler429) and the team-host side of the handoff
# ------------------------------------------------------------------------------


def rate_limited_view(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    logger.warning("ratelimit.exceeded", extra={"path": request.path, "ip": client_ip(request)})
    return render(request, "429.html", status=429)


@open_access
def handoff_view(request: HttpRequest) -> HttpResponse:
    """Team host: redeem a handoff token, log the user in on this host, continue to the page asked for."""
    team = request.tenant  # type: ignore[attr-defined]
    try:
        payload = handoff.handoff_token_redeem(token=request.GET.get("token", ""), team_id=team.pk)
    except handoff.HandoffError as exc:
        logger.warning("handoff.refused", extra={"reason": str(exc)})
        return HttpResponseRedirect(apex_url(f"/go/{team.slug}/"))
    user = account_selectors.active_user_get(user_id=payload["u"])
    if user is None or membership_for(user_id=user.pk, team_id=team.pk) is None:
        raise Http404("No such team")
    request.handoff_login_group = payload["g"]  # type: ignore[attr-defined]
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    for level, text in payload.get("m") or []:
        messages.add_message(request, int(level), str(text))
    return HttpResponseRedirect(handoff.safe_next_path(payload["p"]))


@members()
@require_POST
def team_logout_view(request: HttpRequest) -> HttpResponse:
    """Team host: log out here, on the apex and on every other team host of this login."""
    logout(request)
    # Said on the apex, where the browser lands (a toast stored here would show on this host's next visit).
    return HttpResponseRedirect(apex_url("/?done=logged_out"))

"""The staff console on the apex (``/console/``): adapters only, reads through selectors, writes through services.
Every view is ``staff_required`` (active staff who used two-factor authentication in this login)."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from shared_apps.accounts.models import User
from shared_apps.catalog.models import LlmModel
from shared_apps.console import impersonation, selectors, services, tasks
from shared_apps.console.access import staff_required
from shared_apps.console.charts import bar_chart
from shared_apps.console.models import Impersonation
from shared_apps.core.exceptions import ApplicationError
from tenants.access import open_access
from tenants.enums import TeamStatus
from tenants.models import Team
from tenants.urls import team_url

logger = logging.getLogger(__name__)

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _team_or_404(team_id: int) -> Team:
    team = Team.objects.teams().filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team")
    return team


def _back_to_team(team_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("console:team_detail", args=[team_id]))


@staff_required
@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    signups = selectors.signups_series()
    ai_messages = selectors.messages_series()
    context = {
        "overview": selectors.overview(),
        "signups": signups,
        "signups_chart": bar_chart(signups.points, label="signups"),
        "ai_messages": ai_messages,
        "messages_chart": bar_chart(ai_messages.points, label="AI messages"),
    }
    return render(request, "console/home.html", context)


@staff_required
@require_GET
def team_list_view(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "")[: selectors.MAX_SEARCH]
    sort = request.GET.get("sort", "name")[:20]
    status = request.GET.get("status", "")[:20]
    teams = selectors.TeamPages(search=search, sort=sort, status=status)
    page = Paginator(teams, PAGE_SIZE).get_page(request.GET.get("page"))  # type: ignore[arg-type,var-annotated]
    query = urlencode({k: v for k, v in (("q", search), ("sort", sort), ("status", status)) if v})
    columns = [
        ("name", "Team"),
        ("plan", "Plan"),
        ("status", "Status"),
        ("members", "Members"),
        ("chatbots", "Chatbots"),
        ("messages", "AI messages this month"),
        ("activity", "Last activity"),
    ]
    headers = []
    for key, label in columns:
        active = sort.lstrip("-") == key
        next_sort = ("" if sort.startswith("-") or not active else "-") + key
        if key in ("members", "chatbots", "messages", "activity") and not active:
            next_sort = "-" + key  # big numbers and recent activity first on the first click
        link = urlencode({k: v for k, v in (("q", search), ("sort", next_sort), ("status", status)) if v})
        headers.append(
            {"label": label, "link": f"?{link}", "active": active, "descending": active and sort.startswith("-")}
        )
    context = {
        "page": page,
        "query": query,
        "search": search,
        "sort": sort,
        "status": status,
        "statuses": TeamStatus.choices,
        "headers": headers,
    }
    return render(request, "console/team_list.html", context)


@staff_required
@require_GET
def team_detail_view(request: HttpRequest, team_id: int) -> HttpResponse:
    detail = selectors.team_detail(team_id=team_id)
    if detail is None:
        raise Http404("No such team")
    chart = bar_chart([(row["day"], row["ai_messages"]) for row in detail.usage], label="AI messages")
    return render(request, "console/team_detail.html", {"d": detail, "team": detail.team, "usage_chart": chart})


def _run(request: HttpRequest, action: Any, success: str) -> None:
    try:
        action()
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, success)


@staff_required
@require_POST
def team_suspend_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team_or_404(team_id)
    reason = request.POST.get("reason", "")
    _run(request, lambda: services.team_suspend(team=team, actor=_user(request), reason=reason), "Team suspended.")
    return _back_to_team(team_id)


@staff_required
@require_POST
def team_unsuspend_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team_or_404(team_id)
    _run(request, lambda: services.team_unsuspend(team=team, actor=_user(request)), "Team active again.")
    return _back_to_team(team_id)


@staff_required
@require_POST
def team_plan_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team_or_404(team_id)
    plan = request.POST.get("plan", "")[:40]
    _run(
        request,
        lambda: services.team_plan_override(team=team, actor=_user(request), plan_code=plan),
        f"Plan set to {plan}.",
    )
    return _back_to_team(team_id)


@staff_required
@require_POST
def team_flag_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team_or_404(team_id)
    name = request.POST.get("flag", "")[:60]
    enabled = request.POST.get("enabled") == "on"
    _run(
        request,
        lambda: services.team_flag_set(team=team, actor=_user(request), name=name, enabled=enabled),
        f"Flag {name} {'on' if enabled else 'off'}.",
    )
    return _back_to_team(team_id)


@staff_required
@require_POST
def impersonation_start_view(request: HttpRequest, team_id: int) -> HttpResponse:
    team = _team_or_404(team_id)
    try:
        visit = services.impersonation_start(team=team, actor=_user(request), reason=request.POST.get("reason", ""))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back_to_team(team_id)
    token = impersonation.enter_token_create(impersonation=visit)
    return HttpResponseRedirect(team_url(team, "/staff-visit/enter/?" + urlencode({"token": token})))


@staff_required
@require_POST
def impersonation_end_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = services.impersonation_end(impersonation_id=visit_id, actor=_user(request))
    if visit is None:
        raise Http404("No such visit")
    messages.success(request, "Visit ended.")
    return _back_to_team(visit.team_id)


@staff_required
@require_GET
def health_view(request: HttpRequest) -> HttpResponse:
    return render(request, "console/health.html", {"h": selectors.system_health()})


@staff_required
@require_POST
def migrations_check_view(request: HttpRequest) -> HttpResponse:
    tasks.pending_migrations_check_task.delay()
    messages.success(request, "Checking the team schemas; reload in a moment.")
    return HttpResponseRedirect(reverse("console:health"))


@staff_required
@require_GET
def audit_view(request: HttpRequest) -> HttpResponse:
    action = request.GET.get("action", "")[:60]
    team = request.GET.get("team", "")[:100]
    actor = request.GET.get("actor", "")[:254]
    rows = selectors.staff_action_list(action=action, team=team, actor=actor)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in (("action", action), ("team", team), ("actor", actor)) if v})
    context = {"page": page, "query": query, "action": action, "team": team, "actor": actor}
    return render(request, "console/audit.html", context)


@staff_required
@require_GET
def catalog_view(request: HttpRequest) -> HttpResponse:
    models = LlmModel.objects.select_related("provider_type").order_by("provider_type__sort_order", "name")
    return render(request, "console/catalog.html", {"models": models})


def _catalog_values(post: Any) -> tuple[dict[str, Any], list[str]]:
    values: dict[str, Any] = {"display_name": post.get("display_name", "")[:120].strip()}
    errors = []
    for name in ("context_window", "max_output_tokens"):
        raw = post.get(name, "").strip()
        if not raw.isdigit() or not 0 < int(raw) <= 100_000_000:
            errors.append(f"{name.replace('_', ' ').capitalize()} must be a whole number of tokens.")
        else:
            values[name] = int(raw)
    for name in ("input_price_per_million", "output_price_per_million"):
        raw = post.get(name, "").strip()
        if not raw:
            values[name] = None
            continue
        try:
            price = Decimal(raw)
        except InvalidOperation:
            price = Decimal(-1)
        if not price.is_finite() or price < 0 or price > 100_000:
            errors.append(f"{name.replace('_', ' ').capitalize()} must be a price in dollars (0 to 100000).")
        else:
            values[name] = price.quantize(Decimal("0.000001"))
    values["deprecated"] = post.get("deprecated") == "on"
    values["is_default"] = post.get("is_default") == "on"
    return values, errors


@staff_required
@require_POST
def catalog_model_view(request: HttpRequest, model_id: int) -> HttpResponse:
    model = LlmModel.objects.filter(pk=model_id).first()
    if model is None:
        raise Http404("No such model")
    values, errors = _catalog_values(request.POST)
    if errors:
        for error in errors:
            messages.error(request, error)
    else:
        services.catalog_model_update(model=model, actor=_user(request), values=values)
        messages.success(request, f"{model} saved.")
    return HttpResponseRedirect(reverse("console:catalog") + f"#model-{model.pk}")


# ---------------------------------------------------------------------------------------------- team host side


@open_access
@require_GET
def visit_enter_view(request: HttpRequest) -> HttpResponse:
    """Team host: redeem the console's one-time token, log the staff member in here, start the visit."""
    from django.contrib.auth import login

    team = request.tenant  # type: ignore[attr-defined]
    try:
        visit = impersonation.enter_token_redeem(token=request.GET.get("token", "")[:2000], team_id=team.pk)
    except impersonation.EnterError as exc:
        logger.warning("impersonation.enter_refused", extra={"reason": str(exc)})
        raise Http404("No such visit") from exc
    login(request, visit.staff, backend="django.contrib.auth.backends.ModelBackend")
    request.session[impersonation.SESSION_KEY] = visit.pk
    return HttpResponseRedirect("/")


@open_access
@require_POST
def visit_end_view(request: HttpRequest) -> HttpResponse:
    """Team host: end this session's visit, log out of the team host, back to the team in the console."""
    from django.contrib.auth import logout

    from tenants.urls import apex_url

    visit_id = request.session.get(impersonation.SESSION_KEY)
    visit: Impersonation | None = None
    if visit_id and request.user.is_authenticated:
        visit = services.impersonation_end(impersonation_id=int(visit_id), actor=_user(request))
    logout(request)
    target = f"/console/teams/{visit.team_id}/" if visit is not None else "/console/"
    return HttpResponseRedirect(apex_url(target))


# ---------------------------------------------------------------------------------------------- public status


@require_GET
def status_view(request: HttpRequest) -> HttpResponse:
    """Apex ``/status/``: anyone may read it (``?format=json`` for monitors)."""
    from django.http import JsonResponse

    from shared_apps.console.status import status_get

    current = status_get()
    if request.GET.get("format") == "json":
        body = {
            "status": current.overall,
            "components": [{"name": c.name, "status": c.status, "detail": c.detail} for c in current.components],
        }
        return JsonResponse(body, status=200)
    return render(request, "console/status.html", {"status": current})

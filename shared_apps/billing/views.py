"""The team's billing page (owners and admins; spend caps: owners) and the apex Stripe webhook.

Team-host views declare their access (``tenants.access``; docs/permissions.md). The webhook is on the apex, open
to anyone, and trusts nothing but Stripe's signature (``webhooks.webhook_receive``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from shared_apps.accounts.models import User
from shared_apps.billing import selectors, services, webhooks
from shared_apps.billing.exceptions import BillingOffError
from shared_apps.billing.forms import ChatbotCapForm, SpendCapForm
from shared_apps.billing.plans import billing_enabled
from shared_apps.core.exceptions import ApplicationError
from tenants.access import members
from tenants.enums import Role
from tenants.models import Team

logger = logging.getLogger(__name__)

INVOICES_PER_PAGE = 12


def _team(request: HttpRequest) -> Team:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _is_owner(request: HttpRequest) -> bool:
    return request.membership.role_enum == Role.OWNER  # type: ignore[attr-defined,no-any-return]


def _spend_form(request: HttpRequest, data: Any = None) -> SpendCapForm:
    team = _team(request)
    account = selectors.account_get(team=team)
    initial = {
        "spend_cap": f"{account.spend_cap:.2f}" if account.spend_cap is not None else "",
        "cap_action": account.cap_action,
        "fallback": f"{account.fallback_provider_id}:{account.fallback_model}" if account.fallback_model else "",
        "limit_message": account.limit_message,
    }
    return SpendCapForm(data, initial=initial, models=services.model_choices(team=team))


def _invoice_page(request: HttpRequest) -> Any:
    return Paginator(selectors.invoice_list(team=_team(request)), INVOICES_PER_PAGE).get_page(request.GET.get("page"))


@members(Role.ADMIN)
@require_GET
def billing_view(request: HttpRequest) -> HttpResponse:
    team = _team(request)
    if request.GET.get("checkout") == "cancelled":
        messages.info(request, "Checkout was cancelled; nothing was charged.")
    context = {
        "overview": selectors.billing_overview(team=team),
        "billing_enabled": billing_enabled(),
        "spend_form": _spend_form(request),
        "is_owner": _is_owner(request),
        "invoices": _invoice_page(request),
    }
    return render(request, "billing/billing.html", context)


@members(Role.ADMIN)
@require_GET
def invoice_list_view(request: HttpRequest) -> HttpResponse:
    """The invoices card (htmx pagination)."""
    return render(request, "billing/_invoices.html", {"invoices": _invoice_page(request)})


def _go(request: HttpRequest, url: str) -> HttpResponse:
    """To a Stripe-hosted page: htmx follows ``HX-Redirect``, a plain form post a 303."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url, status=303)


def _back_with_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    messages.error(request, exc.message)
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect("/settings/billing/")
    return redirect("billing:overview")


@members(Role.ADMIN)
@require_POST
def checkout_view(request: HttpRequest) -> HttpResponse:
    """Upgrade: a Stripe Checkout session for the chosen plan, then the browser goes to Stripe."""
    try:
        url = services.checkout_start(
            team=_team(request), plan_code=request.POST.get("plan", "")[:40], actor=_user(request)
        )
    except ApplicationError as exc:
        return _back_with_error(request, exc)
    return _go(request, url)


@members(Role.ADMIN)
@require_GET
def checkout_done_view(request: HttpRequest) -> HttpResponse:
    """Back from Checkout: apply the new subscription now (the webhook confirms it later)."""
    try:
        subscription = services.checkout_complete(team=_team(request), session_id=request.GET.get("session_id", ""))
    except ApplicationError as exc:
        return _back_with_error(request, exc)
    if subscription is not None and subscription.plan is not None:
        messages.success(request, f"Thank you! The team is now on the {subscription.plan.name} plan.")
    else:
        messages.info(request, "Thank you! Your payment is being confirmed; the plan updates in a moment.")
    return redirect("billing:overview")


@members(Role.ADMIN)
@require_POST
def portal_view(request: HttpRequest) -> HttpResponse:
    """Manage billing: a Stripe Customer Portal session (cards, invoices, plan changes, cancellation)."""
    try:
        url = services.portal_start(team=_team(request), actor=_user(request))
    except ApplicationError as exc:
        return _back_with_error(request, exc)
    return _go(request, url)


@members(Role.OWNER)
@require_POST
def spend_caps_view(request: HttpRequest) -> HttpResponse:
    """The owner's team spend cap, the action at 100 % and the limit message (htmx: the card is swapped)."""
    team = _team(request)
    form = _spend_form(request, request.POST)
    saved = False
    if form.is_valid():
        provider_id, model = form.fallback_choice()
        try:
            services.spend_caps_update(
                team=team,
                actor=_user(request),
                spend_cap=form.cleaned_data["spend_cap"],
                cap_action=form.cleaned_data["cap_action"],
                fallback_provider_id=provider_id,
                fallback_model=model,
                limit_message=form.cleaned_data["limit_message"],
            )
            saved = True
        except ApplicationError as exc:
            form.add_error("fallback" if exc.code.startswith("billing.fallback") else None, exc.message)
    if not getattr(request, "htmx", False):
        if saved:
            messages.success(request, "Spend caps saved.")
            return redirect("billing:overview")
        messages.error(
            request,
            "The spend caps were not saved: "
            + " ".join(str(message) for errors in form.errors.values() for message in errors),
        )
        return redirect("billing:overview")
    overview = selectors.billing_overview(team=team)
    context = {
        "spend_form": form if not saved else _spend_form(request),
        "overview": overview,
        "is_owner": True,
        "saved": saved,
    }
    return render(request, "billing/_spend_caps.html", context)


@members(Role.OWNER)
@require_POST
def chatbot_cap_view(request: HttpRequest, chatbot_id: int) -> HttpResponse:
    """Set or clear one chatbot's monthly spend cap (htmx: the row is swapped)."""
    team = _team(request)
    form = ChatbotCapForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            services.chatbot_cap_set(
                team=team, actor=_user(request), chatbot_id=chatbot_id, cap=form.cleaned_data["cap"]
            )
        except ApplicationError as exc:
            error = exc.message
    else:
        error = " ".join(str(message) for message in form.errors.get("cap", ["Enter an amount."]))
    if not getattr(request, "htmx", False):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, "Chatbot cap saved.")
        return redirect("billing:overview")
    overview = selectors.billing_overview(team=team)
    line = next((line for line in overview.chatbots if line.chatbot_id == chatbot_id), None)
    if line is None:
        return HttpResponse(status=204)
    return render(
        request,
        "billing/_chatbot_cap_row.html",
        {"line": line, "is_owner": True, "error": error, "value": request.POST.get("cap", "")[:20], "saved": not error},
    )


# ------------------------------------------------------------------------------------------------------- apex


@csrf_exempt
@require_POST
def stripe_webhook_view(request: HttpRequest) -> HttpResponse:
    """Stripe events (apex). 400 for anything not signed by Stripe within the tolerance (nothing changes); 200 for
    an applied, ignored or repeated event; 500 when applying failed, so Stripe delivers it again."""
    try:
        result = webhooks.webhook_receive(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    except BillingOffError as exc:
        return JsonResponse(exc.as_dict(), status=404)
    except ApplicationError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status_code)
    except Exception:
        logger.exception("billing.webhook_failed")
        return JsonResponse(
            {"code": "billing.webhook_failed", "message": "Processing failed; retry later.", "extra": {}}, status=500
        )
    return JsonResponse({"received": True, "outcome": result.outcome})

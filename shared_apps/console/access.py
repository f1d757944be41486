"""Who may open the console: active platform staff whose current login used two-factor authentication.

Anyone else gets 404 (the console's existence is not advertised). Staff without an authenticator are sent to set
one up; staff with one who logged in without it (a session from before) are asked for a code again
(allauth's MFA reauthentication records the "mfa" method in the session).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

F = TypeVar("F", bound=Callable[..., HttpResponse])


def two_factor_used(request: HttpRequest) -> bool:
    records = get_authentication_records(request, request.user)  # type: ignore[arg-type]
    return any(record.get("method") == "mfa" for record in records)


def staff_required(view: F) -> F:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        tenant = getattr(request, "tenant", None)
        if tenant is None or not tenant.is_public:
            raise Http404("Page not found")
        if not user.is_authenticated:
            return HttpResponseRedirect(reverse("account_login") + "?next=" + request.path)
        if not (user.is_active and user.is_staff):
            raise Http404("Page not found")
        if not is_mfa_enabled(user):
            messages.warning(request, "The staff console needs two-factor authentication: set up an authenticator app.")
            return HttpResponseRedirect(reverse("mfa_activate_totp") + "?next=" + request.path)
        if not two_factor_used(request):
            return HttpResponseRedirect(reverse("mfa_reauthenticate") + "?next=" + request.path)
        return view(request, *args, **kwargs)

    wrapped.console_access = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]

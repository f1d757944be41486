from __future__ import annotations

import hashlib
import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.http import HttpRequest
from django.template.loader import render_to_string

from shared_apps.core.ratelimit import client_ip
from tenants.urls import apex_url

logger = logging.getLogger("shared_apps.accounts.security")


def _ident_digest(value: str) -> str:
    """Logs carry a digest of the login identifier, never the address itself (it may not even be an account)."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:16]


class AccountAdapter(DefaultAccountAdapter):
    """Signup and login happen on the apex only; team hosts hand users over with a signed token.

    Failed and throttled logins are logged as ``login.failed`` / ``login.throttled`` (allauth's ``login_failed``
    rate limit does the throttling); the messages users see are the same whether or not the address exists.
    """

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        tenant = getattr(request, "tenant", None)
        return tenant is None or tenant.is_public

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            logger.warning(
                "login.throttled",
                extra={"ip": client_ip(request), "login": _ident_digest(str(credentials.get("email", "")))},
            )
            raise

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        logger.warning(
            "login.failed", extra={"ip": client_ip(request), "login": _ident_digest(str(credentials.get("email", "")))}
        )

    # -- emails: branded with the product's name, each with a plain-text and an HTML part -------------------------

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's emails name the product, not the host ("Hello from Chat Studio!", not "localhost:8000")."""
        branded = {"current_site": _Site(settings.SITE_NAME, apex_url("/").rstrip("/")), **context}
        super().send_mail(template_prefix, email, branded)

    def format_email_subject(self, subject: str) -> str:
        return f"[{settings.SITE_NAME}] {subject}"

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        """allauth ships text-only templates: wrap the text in the product's HTML layout as the HTML part."""
        message = super().render_mail(template_prefix, email, context, headers)
        if isinstance(message, EmailMultiAlternatives) and message.alternatives:
            return message
        html = render_to_string("emails/text_as_html.html", {"text": message.body, "site_name": settings.SITE_NAME})
        branded = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=message.from_email,
            to=message.to,
            headers=message.extra_headers,
        )
        branded.attach_alternative(html, "text/html")
        return branded


class _Site:
    """What allauth's templates read as ``current_site``."""

    def __init__(self, name: str, domain: str) -> None:
        self.name = name
        self.domain = domain

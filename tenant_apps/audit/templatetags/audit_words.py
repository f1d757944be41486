from __future__ import annotations

from typing import Any

from django import template

from tenant_apps.audit.describe import event_details, words

register = template.Library()


@register.filter
def audit_action(code: str) -> str:
    return words(code)


@register.filter
def audit_details(data: Any) -> str:
    return event_details(data)

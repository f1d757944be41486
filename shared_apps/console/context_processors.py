from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def impersonation(request: HttpRequest) -> dict[str, Any]:
    """The open staff visit of this request (set by the access fallback), for the banner in the team layout."""
    return {"impersonation": getattr(request, "impersonation", None)}

"""``{% local_model_banner chatbot %}``: says on a chatbot's pages that its (local demo) model is not ready yet."""

from __future__ import annotations

from typing import Any

from django import template

from tenant_apps.providers.local_model import local_model_waiting

register = template.Library()


@register.inclusion_tag("providers/_local_model_banner.html")
def local_model_banner(chatbot: Any, visitor: bool = False) -> dict[str, Any]:
    """Nothing (and no query) unless the status file says the local model is still on its way or failed."""
    return {"status": local_model_waiting(chatbot=chatbot), "visitor": visitor, "poll": not visitor}

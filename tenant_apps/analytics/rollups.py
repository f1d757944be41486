"""The team's figures the staff console lists (console.collectors, settings.TEAM_ROLLUP_COLLECTORS): read in the
team's schema by the roll-up refresh task, stored in public so the console never opens a schema per request."""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations.models import ChatSession


def team_rollup() -> dict[str, Any]:
    sessions = ChatSession.objects.aggregate(last=Max("last_activity_at"))
    return {
        "chatbots": Chatbot.objects.filter(archived_at__isnull=True).count(),
        "sessions": ChatSession.objects.count(),
        "last_activity_at": sessions["last"],
    }

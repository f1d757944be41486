"""The team overview: a handful of indexed counts over the apps a team builds with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from tenant_apps.chatbots.models import Chatbot
from tenant_apps.conversations.enums import TraceStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession, Trace
from tenant_apps.providers.selectors import llm_provider_list


@dataclass(frozen=True)
class TeamOverview:
    llm_providers: int
    chatbots: int
    published_chatbots: int
    sessions_7d: int
    messages_7d: int
    failed_turns_7d: int
    recent_sessions: list[ChatSession]

    @property
    def getting_started(self) -> list[tuple[str, bool]]:
        return [
            ("Add an LLM provider", self.llm_providers > 0),
            ("Create a chatbot", self.chatbots > 0),
            ("Chat with it", self.sessions_7d > 0 or self.messages_7d > 0),
            ("Publish a version", self.published_chatbots > 0),
        ]


def team_overview() -> TeamOverview:
    """The team's home page numbers (last 7 days) in a handful of indexed counts."""
    since = timezone.now() - timedelta(days=7)
    chatbots = Chatbot.objects.active()
    messages = ChatMessage.objects.filter(created_at__gte=since, hidden=False)
    return TeamOverview(
        llm_providers=llm_provider_list().count(),
        chatbots=chatbots.count(),
        published_chatbots=chatbots.filter(published_version__isnull=False).count(),
        sessions_7d=ChatSession.objects.filter(created_at__gte=since).count(),
        messages_7d=messages.count(),
        failed_turns_7d=Trace.objects.filter(created_at__gte=since, status=TraceStatus.ERROR).count(),
        recent_sessions=list(
            ChatSession.objects.select_related("chatbot", "participant", "version").order_by("-created_at")[:5]
        ),
    )

"""The bot's "schedule a message" tool (``pipelines.nodes.llm_tools``): the turn leaves its requests in the session
state; after the reply is delivered they become scheduled messages and leave the state.

Each request carries a random key, used as the schedule's ``request_key``: a request seen twice (a later turn wrote
back a state it loaded before the requests were taken) still makes one schedule.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db.models import F, TextField, Value
from django.db.models.expressions import CombinedExpression

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.conversations.models import ChatSession
from tenant_apps.events import scheduling
from tenant_apps.events.enums import IntervalUnit, Origin
from tenant_apps.events.models import ScheduledMessage
from tenant_apps.pipelines.models import Pipeline
from tenant_apps.pipelines.nodes.llm_tools import SCHEDULE_STATE_KEY

logger = logging.getLogger(__name__)


def pipeline_schedules(pipeline: Pipeline) -> bool:
    """Whether an LLM node of ``pipeline`` offers the scheduling tool."""
    nodes = (pipeline.graph or {}).get("nodes") or []
    return any("schedule_message" in ((node.get("params") or {}).get("tools") or []) for node in nodes)


def requests_take(*, session: ChatSession) -> int:
    """Create the schedules the session state asks for and remove the requests from the state. Returns how many
    were new."""
    pending = (session.state or {}).get(SCHEDULE_STATE_KEY)
    if not pending:
        return 0
    created = 0
    for request in pending if isinstance(pending, list) else []:
        created += _create(session, request)
    # jsonb "-" removes the key in the database, keeping whatever a turn wrote meanwhile.
    without = CombinedExpression(F("state"), "-", Value(SCHEDULE_STATE_KEY, output_field=TextField()))
    ChatSession.objects.filter(pk=session.pk).update(state=without)
    return created


def _create(session: ChatSession, request: Any) -> int:
    if not isinstance(request, dict):
        return 0
    try:
        first = datetime.fromisoformat(str(request.get("at")))
        unit = request.get("unit")
        key = f"bot:{request.get('key')}"
        before = ScheduledMessage.objects.filter(request_key=key).exists()
        scheduling.scheduled_message_create(
            chatbot=session.chatbot,
            participant=session.participant,
            text=str(request.get("message", "")),
            first_run_at=first,
            interval=request.get("every"),
            unit=IntervalUnit(unit) if unit else None,
            max_runs=request.get("times"),
            origin=Origin.BOT,
            request_key=key,
        )
    except (ApplicationError, ValueError) as exc:
        logger.warning("scheduled.bot_request_refused", extra={"session": session.pk, "error": str(exc)})
        return 0
    return 0 if before else 1

"""Tools an LLM node can offer its model: remember participant data, set session state, end the session, schedule
a message for the participant ("remind me tomorrow at 9").

They act on the run's in-memory state only; the caller persists the final state at the end of the turn. A
schedule request is left in the session state under ``SCHEDULE_STATE_KEY``; the events app turns it into a
scheduled message once the reply is delivered (and removes it from the state).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from shared_apps.core import strict_json
from tenant_apps.pipelines.engine.state import RunState, dotted_set
from tenant_apps.providers.llm.types import ToolCall, ToolSpec

ToolName = Literal["set_participant_data", "set_session_state", "end_session", "schedule_message"]
SCHEDULE_STATE_KEY = "_scheduled_requests"
MAX_SCHEDULE_REQUESTS = 5  # per turn

TOOL_LABELS: dict[str, str] = {
    "set_participant_data": "Remember facts about the participant",
    "set_session_state": "Set session state",
    "end_session": "End the session",
    "schedule_message": "Schedule a message to the participant (reminders)",
}

_KEY_VALUE = {
    "type": "object",
    "properties": {
        "key": {"type": "string", "description": "The key; dots address nested keys (e.g. 'profile.name')."},
        "value": {"description": "The value to store (text, number, boolean, list or object)."},
    },
    "required": ["key", "value"],
}

TOOL_SPECS: dict[str, ToolSpec] = {
    "set_participant_data": ToolSpec(
        name="set_participant_data",
        description="Save a fact about the participant for future conversations (e.g. their name or preferences).",
        parameters=_KEY_VALUE,
    ),
    "set_session_state": ToolSpec(
        name="set_session_state",
        description="Save a value for the rest of this conversation.",
        parameters=_KEY_VALUE,
    ),
    "end_session": ToolSpec(
        name="end_session",
        description="End the conversation when the participant is done or asks to stop.",
        parameters={"type": "object", "properties": {}},
    ),
    "schedule_message": ToolSpec(
        name="schedule_message",
        description=(
            "Schedule a message to send the participant later, e.g. a reminder they asked for. Give either "
            "'at' (an ISO 8601 date and time with its UTC offset) or 'delay_seconds' from now. To repeat it, give "
            "'every' and 'unit' (hours, days or weeks) and optionally 'times' (how many sends in all)."
        ),
        parameters={
            "type": "object",
            "properties": {
                "message": {"type": "string", "description": "The text to send."},
                "at": {"type": "string", "description": "When, e.g. 2026-12-05T09:00:00+01:00."},
                "delay_seconds": {"type": "integer", "description": "Or: seconds from now."},
                "every": {"type": "integer", "description": "Repeat every N units."},
                "unit": {"type": "string", "enum": ["hours", "days", "weeks"]},
                "times": {"type": "integer", "description": "How many sends in all (repeating only)."},
            },
            "required": ["message"],
        },
    ),
}

MAX_KEY_LENGTH = 200
MAX_VALUE_BYTES = 20_000


def tools_for(names: Sequence[str], state: RunState) -> tuple[list[ToolSpec], Callable[[ToolCall], str]]:
    specs = [TOOL_SPECS[name] for name in names]

    def handle(call: ToolCall) -> str:
        if call.name not in names:
            return f"Error: there is no tool called {call.name!r}."
        if call.name == "end_session":
            state.end_session = True
            return "The session will end after this reply."
        if call.name == "schedule_message":
            return _schedule_request(call.arguments, state)
        key = call.arguments.get("key")
        if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
            return "Error: 'key' must be a non-empty string."
        if "value" not in call.arguments:
            return "Error: 'value' is required."
        value = call.arguments["value"]
        try:
            encoded = strict_json.dumps(value)
        except (ValueError, TypeError, RecursionError):
            return "Error: the value must be JSON (NaN and Infinity are not allowed)."
        if len(encoded) > MAX_VALUE_BYTES or strict_json.has_nul(encoded):
            return "Error: the value is too large or contains a NUL character."
        scope = state.participant_data if call.name == "set_participant_data" else state.session_state
        dotted_set(scope, key.strip(), value)
        return "Saved."

    return specs, handle


def _schedule_request(arguments: Mapping[str, Any], state: RunState) -> str:
    """Check a schedule request and leave it in the session state; the events app creates the schedule."""
    message = arguments.get("message")
    if not isinstance(message, str) or not message.strip() or len(message) > 2000:
        return "Error: 'message' must be text of at most 2000 characters."
    now = state.ctx.now()
    at = arguments.get("at")
    delay = arguments.get("delay_seconds")
    when: datetime
    if isinstance(at, str) and at.strip():
        try:
            when = datetime.fromisoformat(at.strip())
        except ValueError:
            return "Error: 'at' must be an ISO 8601 date and time, e.g. 2026-12-05T09:00:00+01:00."
        if when.tzinfo is None:
            return "Error: 'at' needs its UTC offset (e.g. +00:00)."
    elif isinstance(delay, int) and not isinstance(delay, bool) and 0 <= delay <= 366 * 86400:
        when = now + timedelta(seconds=delay)
    else:
        return "Error: give 'at' or 'delay_seconds' (0 to one year)."
    if when < now - timedelta(minutes=1):
        return f"Error: that time is in the past (it is now {now.isoformat(timespec='minutes')})."
    every, unit, times = arguments.get("every"), arguments.get("unit"), arguments.get("times")
    if (every is None) != (unit is None):
        return "Error: give both 'every' and 'unit' to repeat, or neither."
    if every is not None and (not isinstance(every, int) or isinstance(every, bool) or not 1 <= every <= 1000):
        return "Error: 'every' must be a whole number from 1 to 1000."
    if unit is not None and unit not in ("hours", "days", "weeks"):
        return "Error: 'unit' must be hours, days or weeks."
    if times is not None and (not isinstance(times, int) or isinstance(times, bool) or not 1 <= times <= 1000):
        return "Error: 'times' must be a whole number from 1 to 1000."
    pending = state.session_state.setdefault(SCHEDULE_STATE_KEY, [])
    if not isinstance(pending, list) or len(pending) >= MAX_SCHEDULE_REQUESTS:
        return "Error: too many scheduled messages at once."
    pending.append(
        {
            "key": uuid.uuid4().hex,
            "message": message.strip(),
            "at": when.isoformat(),
            "every": every,
            "unit": unit,
            "times": times,
        }
    )
    return f"Scheduled for {when.isoformat(timespec='minutes')}."

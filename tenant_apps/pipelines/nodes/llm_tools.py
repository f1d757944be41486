"""Tools an LLM node can offer its model: remember participant data, set session state, end the session.

They act on the run's in-memory state only; the caller persists the final state at the end of the turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from shared_apps.core import strict_json
from tenant_apps.pipelines.engine.state import RunState, dotted_set
from tenant_apps.providers.llm.types import ToolCall, ToolSpec

ToolName = Literal["set_participant_data", "set_session_state", "end_session"]

TOOL_LABELS: dict[str, str] = {
    "set_participant_data": "Remember facts about the participant",
    "set_session_state": "Set session state",
    "end_session": "End the session",
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

"""System prompt variables: ``{participant_data}``, ``{session_state.x}``, ``{temp_state.x}``, ``{current_datetime}``.

Only ``{name}`` and ``{name.path}`` with an identifier-like name are variables, so JSON examples in a prompt
(``{"a": 1}``) stay literal. An unknown variable is a validation error (almost always a typo), and ``{{`` / ``}}``
produce literal braces for the rare prompt that needs ``{word}`` verbatim. A state path that is missing at run time
renders as an empty string: a prompt should not fail because a participant has not told us their name yet.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tenant_apps.pipelines.engine.state import RunState, dotted_get

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_\-]+)*)\}")
_PATH_ROOTS = {"session_state", "temp_state", "participant_data"}
_PLAIN = {"participant_data", "current_datetime"}
DATETIME_FORMAT = "%A, %d %B %Y %H:%M:%S %Z"


def prompt_errors(prompt: str) -> list[str]:
    """Every problem with the prompt's variables, as sentences for the editor."""
    errors: list[str] = []
    for match in _TOKEN.finditer(prompt):
        name, path = match.group(1), match.group(2)
        if name is None:
            continue
        variable = match.group(0)
        if name in _PATH_ROOTS and path:
            continue
        if name in _PLAIN and not path:
            continue
        if name in ("session_state", "temp_state"):
            errors.append(f"{variable} needs a key, for example {{{name}.language}}.")
        elif name == "current_datetime":
            errors.append(f"{variable}: the current date and time has no keys; use {{current_datetime}}.")
        else:
            errors.append(
                f"{variable} is not a known variable. Use {{participant_data}}, {{session_state.<key>}}, "
                "{temp_state.<key>} or {current_datetime}; write {{ and }} for literal braces."
            )
    return errors


def render_prompt(prompt: str, state: RunState) -> str:
    if "{" not in prompt and "}" not in prompt:
        return prompt

    def substitute(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole in ("{{", "}}"):
            return whole[0]
        name, path = match.group(1), match.group(2)
        if name == "current_datetime" and not path:
            return state.ctx.now().strftime(DATETIME_FORMAT)
        if name == "participant_data" and not path:
            return _as_text(state.participant_data)
        if name in _PATH_ROOTS and path:
            return _as_text(dotted_get(state.scope(name), path[1:], ""))
        return whole  # unreachable for a validated prompt; leave it visible rather than guess

    return _TOKEN.sub(substitute, prompt)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)

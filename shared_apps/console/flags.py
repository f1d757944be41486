"""The registry of feature flags: every flag a team can have, with what it does. A flag not listed here cannot
be switched on (the console offers only these, and ``flag_enabled`` refuses unknown names so a typo fails loudly
in tests instead of silently reading False)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Flag:
    name: str
    description: str


FLAGS: dict[str, Flag] = {
    flag.name: flag
    for flag in (
        Flag("token_streaming", "Stream replies token by token to the web chat and widget."),
        Flag("pipeline_code_node", "Offer the Python code node in the pipeline editor."),
        Flag("evaluations", "Early access to chatbot evaluations (wave 2)."),
        Flag("knowledge_base", "Early access to document collections for retrieval (wave 2)."),
        Flag("high_concurrency", "Let the team run more turns at once than its plan allows (load tests)."),
    )
}

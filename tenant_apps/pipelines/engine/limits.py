"""How much one run may compute and leave behind (ADR 0060).

Everything here is a number a team can push against: template renders (``TemplateLimits``, enforced inside the
render by ``template_guard``) and the bulk effects of one turn (tags, state size, history writes), checked by the
executor where the engine produces them. The defaults are generous for real pipelines and small next to what a
shared worker can afford; each can be changed in settings (``PIPELINE_TEMPLATE_*``, ``PIPELINE_TURN_*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed


class RunTimeLimitError(BaseException):
    """The run (a whole turn) went over its time limit (ADR 0065). Raised into the run by its caller's deadline (a
    gevent timeout or an alarm), or by the executor before a node once ``RunContext.deadline`` has passed.

    A ``BaseException``, like ``gevent.Timeout``: the SDKs, the LLM layer and nodes catch ``Exception`` to retry or
    to report, and must not swallow this (an SDK would turn it into a connection error and try again). The executor
    catches it by name and fails the node it stopped, so the trace names that node."""

    code = "pipeline.time_limit"

    def __init__(self, seconds: float | None = None) -> None:
        limit = f"its limit of {seconds:g} s" if seconds else "its time limit"
        self.message = f"The turn took longer than {limit} and was stopped."
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """Bounds of one Jinja render. Sizes count characters of text or items of lists (nested ones summed)."""

    max_output: int = 1_000_000  # characters the render may produce
    max_value: int = 1_000_000  # the largest text or list an expression may build
    max_allocated: int = 10_000_000  # everything the render's operations build, together (garbage included)
    max_loop_iterations: int = 100_000  # every loop of the render together; range() is capped to this too
    max_int_bits: int = 10_000  # about 3,000 decimal digits
    max_cpu_seconds: float = 1.0  # CPU time of the render, checked inside it

    @classmethod
    def from_settings(cls) -> TemplateLimits:
        return _template_limits()


@dataclass(frozen=True, slots=True)
class RunLimits:
    """Bounds of what one run may hand back to be stored, plus the template limits its nodes render with."""

    max_tags: int = 20  # message tags one turn may add
    max_state_bytes: int = 512 * 1024  # each of participant data, session state and temp state, as JSON
    max_history_writes: int = 100  # history entries (messages) one turn may append
    template: TemplateLimits = field(default_factory=TemplateLimits)

    @classmethod
    def from_settings(cls) -> RunLimits:
        return _run_limits()


# Read once per process (every turn builds a RunContext); a test that overrides a setting clears them.
@cache
def _template_limits() -> TemplateLimits:
    return TemplateLimits(**_overrides(TemplateLimits, "PIPELINE_TEMPLATE_"))


@cache
def _run_limits() -> RunLimits:
    return RunLimits(**_overrides(RunLimits, "PIPELINE_TURN_"), template=_template_limits())


def _forget(*, setting: str, **_: Any) -> None:
    if setting.startswith("PIPELINE_"):
        _template_limits.cache_clear()
        _run_limits.cache_clear()


setting_changed.connect(_forget)


def _overrides(cls: Any, prefix: str) -> dict[str, Any]:
    """Settings named ``<prefix><FIELD>`` that are set, e.g. ``PIPELINE_TEMPLATE_MAX_OUTPUT``."""
    values = {}
    for item in fields(cls):
        if item.name == "template":
            continue
        value = getattr(settings, prefix + item.name.upper(), None)
        if value is not None:
            values[item.name] = value
    return values

"""How the console learns figures that live in team schemas without importing team code: each dotted path in
``settings.TEAM_ROLLUP_COLLECTORS`` is called inside the team's schema and returns a dict of figures
(``chatbots``, ``sessions``, ``last_activity_at``); the refresh task merges them into ``TeamRollup``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


def collect() -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for path in getattr(settings, "TEAM_ROLLUP_COLLECTORS", []):
        figures.update(import_string(path)())
    return figures

"""``{{ "Name|Role|"|columns }}``: the column labels of ``components/_table.html`` from one string."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def columns(value: str) -> list[str]:
    """``"Name|Role|"`` -> ``["Name", "Role", ""]``: an empty label is the actions column (no visible header)."""
    return [label.strip() for label in str(value).split("|")]

"""Audit events in words for the audit log page: "Chatbot version published · version: 3, previous: none".

Events store machine-friendly ``action`` codes and ``data``; people should not read ``None``, ``[]`` or
``is_public``. Keys and field names become words, empty values say "none", lists are joined.
"""

from __future__ import annotations

from typing import Any

MAX_ITEMS = 12  # a long list (fields changed, ids) is cut with "and N more"


def words(code: str) -> str:
    """``chatbot.version_published`` → "Chatbot version published"; ``is_public`` → "public"."""
    text = code.replace(".", " ").replace("_", " ").strip()
    text = text.removeprefix("is ").replace(" id", "")
    return text[:1].upper() + text[1:] if text else text


def value_words(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        shown = [value_words(item) if not isinstance(item, str) else words(item).lower() for item in value[:MAX_ITEMS]]
        more = len(value) - MAX_ITEMS
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    if isinstance(value, dict):
        return "; ".join(f"{words(str(key)).lower()}: {value_words(item)}" for key, item in value.items())
    return str(value)


def event_details(data: Any) -> str:
    """The event's data as one line of words."""
    if not isinstance(data, dict) or not data:
        return ""
    return ", ".join(f"{words(str(key)).lower()}: {value_words(value)}" for key, value in data.items())

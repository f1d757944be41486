"""The pipeline engine's ``HistoryStore`` on our tables.

Global history is the session's own messages; per-node and named histories are ``HistoryMessage`` rows. Reads
start at the newest compression marker (one query each, in ``turn_sql``). Writes are buffered and flushed by
``flush()`` inside the turn's end-of-turn transaction, so a failed run leaves no partial history behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenant_apps.conversations import turn_sql
from tenant_apps.conversations.models import ChatMessage, ChatSession, HistoryMessage
from tenant_apps.pipelines.engine.context import HistoryEntry, HistoryKey


class DbHistoryStore:
    def __init__(self, *, session: ChatSession, before_message_id: int) -> None:
        self.session = session
        self.before_message_id = before_message_id
        self._appends: list[HistoryMessage] = []
        self._global_summaries: dict[Any, str] = {}
        self._scoped_summaries: dict[Any, str] = {}
        self._pending: dict[HistoryKey, list[HistoryEntry]] = {}

    def load(self, key: HistoryKey) -> Sequence[HistoryEntry]:
        if key.mode == "global":
            entries = self._load_global()
        else:
            entries = self._load_scoped(key)
        pending = self._pending.get(key, [])
        return entries + pending

    def _load_global(self) -> list[HistoryEntry]:
        return turn_sql.history_global(session_id=self.session.pk, before_message_id=self.before_message_id)

    def _load_scoped(self, key: HistoryKey) -> list[HistoryEntry]:
        return turn_sql.history_scoped(session_id=self.session.pk, mode=key.mode, name=key.name)

    def append(self, key: HistoryKey, entries: Sequence[HistoryEntry]) -> None:
        if key.mode == "global":
            return  # the session's messages are the global history; the turn writes them itself
        self._pending.setdefault(key, []).extend(entries)
        self._appends.extend(
            HistoryMessage(session_id=self.session.pk, mode=key.mode, name=key.name, role=e.role, content=e.content)
            for e in entries
        )

    def summarize(self, key: HistoryKey, *, upto: HistoryEntry, summary: str) -> None:
        target = self._global_summaries if key.mode == "global" else self._scoped_summaries
        target[upto.id] = summary

    @property
    def has_writes(self) -> bool:
        """Whether ``flush()`` has anything to write."""
        return bool(self._appends or self._global_summaries or self._scoped_summaries)

    def flush(self) -> None:
        """Write buffered appends and markers (call inside the end-of-turn transaction)."""
        if self._appends:
            HistoryMessage.objects.bulk_create(self._appends)
        for message_id, summary in self._global_summaries.items():
            ChatMessage.objects.filter(pk=message_id, session_id=self.session.pk).update(summary=summary)
        for row_id, summary in self._scoped_summaries.items():
            if isinstance(row_id, int):
                HistoryMessage.objects.filter(pk=row_id, session_id=self.session.pk).update(summary=summary)

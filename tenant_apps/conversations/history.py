"""The pipeline engine's ``HistoryStore`` on our tables.

Global history is the session's own messages; per-node and named histories are ``HistoryMessage`` rows. Reads
start at the newest compression marker (one query each). Writes are buffered and flushed by ``flush()`` inside
the turn's end-of-turn transaction, so a failed run leaves no partial history behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

from tenant_apps.conversations.enums import MessageRole
from tenant_apps.conversations.models import ChatMessage, ChatSession, HistoryMessage
from tenant_apps.pipelines.engine.context import HistoryEntry, HistoryKey

_ROLES = (str(MessageRole.USER), str(MessageRole.ASSISTANT))


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
        return _read(_GLOBAL_SQL, [self.session.pk, self.before_message_id, *_ROLES] * 2)

    def _load_scoped(self, key: HistoryKey) -> list[HistoryEntry]:
        return _read(_SCOPED_SQL, [self.session.pk, key.mode, key.name] * 2)

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


# Entries from the newest compression marker on, oldest first: one fixed statement each (compiling the ORM
# version on every turn cost more than running it; ADR 0040).
_MESSAGES = ChatMessage._meta.db_table
_HISTORY = HistoryMessage._meta.db_table
_GLOBAL_SQL = f"""
    SELECT id, role, content, summary FROM {_MESSAGES}
    WHERE session_id = %s AND id < %s AND role IN (%s, %s) AND id >= COALESCE((
        SELECT id FROM {_MESSAGES} WHERE session_id = %s AND id < %s AND role IN (%s, %s) AND summary IS NOT NULL
        ORDER BY id DESC LIMIT 1), 0)
    ORDER BY id"""  # noqa: S608 (table names from model metadata, values as parameters)

_SCOPED_SQL = f"""
    SELECT id, role, content, summary FROM {_HISTORY}
    WHERE session_id = %s AND mode = %s AND name = %s AND id >= COALESCE((
        SELECT id FROM {_HISTORY} WHERE session_id = %s AND mode = %s AND name = %s AND summary IS NOT NULL
        ORDER BY id DESC LIMIT 1), 0)
    ORDER BY id"""  # noqa: S608


def _read(sql: str, params: list[Any]) -> list[HistoryEntry]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [HistoryEntry(role=role, content=content, id=pk, summary=summary) for pk, role, content, summary in rows]

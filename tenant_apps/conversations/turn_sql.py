"""The chat turn's SQL, all of it: every statement the send, the turn and the reply poll run (ADR 0040).

On this path building and compiling ORM queries cost more CPU than PostgreSQL spent running them, so the
statements are shaped by hand once: reads are ``PreparedQuery``s (compiled once per process), the claim and the
history reads fixed SQL, the writes ``write_together`` bundles (one statement, all or nothing, no BEGIN/COMMIT).
Domain modules (``ingress``, ``turns``, ``history``, ``selectors``) call these functions and build no hot-path SQL
of their own; tests/tenant_apps/conversations/test_turn_queries.py caps how many run per turn.

- send: ``session_by_external_id`` or ``public_session`` (which session), ``message_insert``
- turn: ``turn_claim``, ``turn_message``, ``history_global`` / ``history_scoped``, ``turn_write`` (or
  ``turn_release`` when the turn is to be tried again later)
- reply poll: ``reply_for``
- ``transaction_if``: a transaction only when a step writes more than one statement
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, OuterRef, QuerySet, Subquery

from shared_apps.billing.metering import usage_annotations
from shared_apps.core.prepared import PreparedQuery, Write, insert, update, write_together
from tenant_apps.conversations.enums import MessageRole, Platform, TurnStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession, HistoryMessage, ParticipantData, Trace
from tenant_apps.pipelines.engine.context import HistoryEntry


def transaction_if(needed: bool) -> AbstractContextManager[Any]:
    """A transaction when ``needed`` (several writes that must land together), else none: a single statement
    commits on its own, without the BEGIN and COMMIT round trips. Inside a caller's transaction it is always a
    savepoint, so a statement that fails there (a redelivery hitting a unique constraint) leaves the caller's
    transaction usable."""
    return transaction.atomic() if needed or connection.in_atomic_block else contextlib.nullcontext()


# ------------------------------------------------------------------------------------------------------- send

_SESSION = PreparedQuery(
    lambda external_id: ChatSession.objects.select_related("chatbot", "version", "participant").filter(
        external_id=external_id
    )[:1],
    external_id=uuid.UUID,
)
_PUBLIC_SESSION = PreparedQuery(
    lambda session_id, identifier, public_id: ChatSession.objects.filter(
        external_id=session_id,
        platform=Platform.PUBLIC_LINK,
        participant__platform=Platform.PUBLIC_LINK,
        participant__identifier=identifier,
        chatbot__public_id=public_id,
        chatbot__is_public=True,
        chatbot__archived_at__isnull=True,
        chatbot__published_version__isnull=False,
    )[:1],
    session_id=uuid.UUID,
    identifier=str,
    public_id=uuid.UUID,
)


def session_by_external_id(external_id: uuid.UUID) -> ChatSession | None:
    """A session with its chatbot, version and participant: every in-app chat request starts here."""
    return _SESSION.first(external_id=external_id)


def public_session(*, session_id: uuid.UUID, identifier: str, public_id: uuid.UUID) -> ChatSession | None:
    """The visitor ``identifier``'s session on a public, published chatbot; its related rows load on first use."""
    return _PUBLIC_SESSION.first(session_id=session_id, identifier=identifier, public_id=public_id)


def message_insert(message: ChatMessage) -> None:
    """INSERT a participant's message as one statement. A redelivery (same session and ``external_id``) raises
    ``IntegrityError`` and writes nothing."""
    write_together(insert(message))


# ------------------------------------------------------------------------------------------------------- turn

# A pending turn, or one whose worker was lost (its lease was last renewed before ``stale_before``, ADR 0065); the
# self-join hands back the status it had, so a takeover can be counted. Fixed SQL: the ORM rebuilt this statement on
# every turn for more CPU than PostgreSQL spent running it.
_CLAIM_SQL = f"""
    UPDATE {ChatMessage._meta.db_table} AS m SET turn_status = %s, turn_started_at = %s
    FROM {ChatMessage._meta.db_table} AS was
    WHERE m.id = %s AND was.id = m.id AND m.role = %s
    AND (m.turn_status = %s OR (m.turn_status = %s AND m.turn_started_at < %s))
    RETURNING was.turn_status"""  # noqa: S608


def turn_claim(message_id: int, *, now: datetime, stale_before: datetime) -> str | None:
    """Mark the turn as being worked on, unless another delivery of it is (or was, since ``stale_before``) at it.
    Returns the status it had (pending, or processing when a lost worker's turn is taken over), None when not
    claimed."""
    params: list[Any] = [TurnStatus.PROCESSING, now, message_id, MessageRole.USER]
    params += [TurnStatus.PENDING, TurnStatus.PROCESSING, stale_before]
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, params)
        row = cursor.fetchone()
    return str(row[0]) if row else None


def _turn_message_query(message_id: int, team_id: int, period_start: datetime) -> QuerySet[ChatMessage]:
    data = ParticipantData.objects.filter(
        participant_id=OuterRef("session__participant_id"), chatbot_id=OuterRef("session__chatbot_id")
    )
    return (
        ChatMessage.objects.select_related(
            "session__participant", "session__chatbot__pipeline", "session__version__pipeline"
        )
        .annotate(
            participant_data_id=Subquery(data.values("id")[:1]),
            participant_data=Subquery(data.values("data")[:1]),
            **usage_annotations(team_id=team_id, period_start=period_start, chatbot_id=OuterRef("session__chatbot_id")),
        )
        .filter(pk=message_id)[:1]
    )


_TURN_MESSAGE = PreparedQuery(_turn_message_query, message_id=int, team_id=int, period_start=datetime)


def turn_message(message_id: int, *, team_id: int, period_start: datetime) -> ChatMessage | None:
    """The message with its session, participant, chatbot, pipelines, the participant's data row for the chatbot
    as ``participant_data_id`` / ``participant_data`` (None when there is none yet), and the team's usage in the
    billing period starting ``period_start`` (``billing_usage``, read with ``UsageCounters.of``): one query."""
    return _TURN_MESSAGE.first(message_id=message_id, team_id=team_id, period_start=period_start)


# Entries from the newest compression marker on, oldest first: one fixed statement each.
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

_CONVERSATION_ROLES = (str(MessageRole.USER), str(MessageRole.ASSISTANT))


def history_global(*, session_id: int, before_message_id: int) -> list[HistoryEntry]:
    """The session's own messages before ``before_message_id`` (participant and bot only)."""
    return _history(_GLOBAL_SQL, [session_id, before_message_id, *_CONVERSATION_ROLES] * 2)


def history_scoped(*, session_id: int, mode: str, name: str) -> list[HistoryEntry]:
    """A per-node (``mode`` "node", ``name`` the node id) or named history of the session."""
    return _history(_SCOPED_SQL, [session_id, mode, name] * 2)


def _history(sql: str, params: list[Any]) -> list[HistoryEntry]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [HistoryEntry(role=role, content=content, id=pk, summary=summary) for pk, role, content, summary in rows]


def turn_write(
    *,
    reply: ChatMessage,
    trace: Trace,
    message_id: int,
    turn_status: str,
    session_id: int,
    session: Mapping[str, Any],
    usage: Sequence[Write] = (),
) -> None:
    """The end of a turn as one statement: the reply, its trace, the message's turn status, the ``session``
    fields (activity, and state or status when the turn changed them) and the team's ``usage`` upserts
    (``billing.metering.usage_writes``). The reply's unique ``reply_to`` makes a second delivery's statement fail
    whole (``IntegrityError``) with nothing written, usage included."""
    write_together(
        insert(reply),
        insert(trace),
        update(ChatMessage, message_id, turn_status=turn_status),
        update(ChatSession, session_id, **session),
        *usage,
    )


def turn_fail(message_id: int) -> None:
    """End a turn whose result could not be stored at all: failed, so no sweep runs it again (ADR 0066)."""
    ChatMessage.objects.filter(pk=message_id).update(turn_status=TurnStatus.FAILED)


def turn_release(message_id: int) -> None:
    """Hand a claimed turn back (pending, unclaimed) so a later delivery runs it again."""
    ChatMessage.objects.filter(pk=message_id).update(turn_status=TurnStatus.PENDING, turn_started_at=None)


# ------------------------------------------------------------------------------------------------- reply poll

_REPLY = PreparedQuery(
    lambda message_id, session_id: ChatMessage.objects.annotate(session_status=F("session__status")).filter(
        reply_to_id=message_id, session_id=session_id
    )[:1],
    message_id=int,
    session_id=int,
)


def reply_for(*, message_id: int, session_id: int) -> ChatMessage | None:
    """The reply to a message of the session, with the session's current status as ``session_status`` (the turn
    may have ended the session): the long poll's one query."""
    return _REPLY.first(message_id=message_id, session_id=session_id)

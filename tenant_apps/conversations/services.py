"""Participants, sessions (start, consent, end, restart), review (tags, comments) and export requests.

A participant's message comes in through ``ingress`` (which uses the session services here); the turn it starts
is ``turns``. Services here may enqueue tasks after commit; the work those tasks do (``turns``, ``exports``)
never imports this module.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from django.db import transaction
from django.db.models import F, JSONField, Value
from django.db.models.expressions import CombinedExpression
from django.utils import timezone

from shared_apps.core.exceptions import InvalidStateError, PermissionDeniedError
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
from tenant_apps.chatbots.selectors import BotConfig, bot_config
from tenant_apps.conversations import hooks, tags, tasks
from tenant_apps.conversations.enums import MessageRole, Platform, SessionStatus, TurnStatus
from tenant_apps.conversations.models import (
    ChatMessage,
    ChatSession,
    MessageComment,
    MessageTag,
    Participant,
    ParticipantData,
    SessionExport,
    Tag,
)
from tenant_apps.conversations.selectors import SessionFilters

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------------- participants


def participant_get_or_create(*, platform: str, identifier: str, name: str = "", user: Any = None) -> Participant:
    identifier = identifier.strip()
    participant, created = Participant.objects.get_or_create(
        platform=platform, identifier=identifier, defaults={"name": name[:255], "user": user}
    )
    if not created and ((name and participant.name != name) or (user is not None and participant.user_id is None)):
        participant.name = name[:255] or participant.name
        participant.user = participant.user or user
        participant.save(update_fields=["name", "user"])
    return participant


def participant_for_member(*, user: Any) -> Participant:
    """The participant a team member is when chatting in the app."""
    return participant_get_or_create(platform=Platform.WEB, identifier=user.email, name=user.display_name, user=user)


def participant_allowed(*, config: BotConfig, participant: Participant) -> bool:
    """Empty allowlist = anyone. Team members chatting in the app are always allowed."""
    if not config.participant_allowlist or participant.user_id is not None:
        return True
    return participant.identifier.lower() in {entry.lower() for entry in config.participant_allowlist}


# -------------------------------------------------------------------------------------------------------- sessions


@transaction.atomic
def session_start(
    *,
    chatbot: Chatbot,
    version: ChatbotVersion | None,
    participant: Participant,
    platform: str,
    started_by: Any = None,
    send_seed: bool = True,
    external_id: uuid.UUID | None = None,
) -> ChatSession:
    """Open a session on ``version`` (None = the working copy). Sends the seed message unless consent is pending
    or ``send_seed`` is False (a session opened to carry a bot-initiated message: ``events.outbound``).
    ``external_id``: the session's id chosen by a channel that keys sessions by a platform conversation (a Slack
    thread); its uniqueness makes two concurrent starts of the same conversation one (``IntegrityError``)."""
    if chatbot.is_archived:
        raise InvalidStateError(code="session.chatbot_archived", message="This chatbot is archived.")
    config = bot_config(chatbot=chatbot, version=version)
    if not participant_allowed(config=config, participant=participant):
        raise PermissionDeniedError(code="session.not_allowed", message="You are not on this chatbot's list.")
    session = ChatSession.objects.create(
        chatbot=chatbot,
        version=version,
        participant=participant,
        platform=platform,
        status=SessionStatus.PENDING_CONSENT if config.consent else SessionStatus.ACTIVE,
        started_by=started_by,
        **({"external_id": external_id} if external_id is not None else {}),
    )
    if config.consent is None and send_seed:
        _send_seed(session=session, config=config)
    logger.info("session.started", extra={"session": str(session.external_id), "platform": platform})
    hooks.emit(hooks.Occurrence(hooks.ConversationEvent.SESSION_STARTED, session))
    return session


def _send_seed(*, session: ChatSession, config: BotConfig) -> None:
    if config.seed_message.strip():
        turn_enqueue(
            ChatMessage.objects.create(
                session=session,
                role=MessageRole.USER,
                content=config.seed_message,
                hidden=True,
                turn_status=TurnStatus.PENDING,
                metadata={"seed": True},
            )
        )


@transaction.atomic
def session_consent_give(*, session: ChatSession) -> ChatSession:
    session = (
        ChatSession.objects.select_for_update(of=("self",)).select_related("chatbot", "version").get(pk=session.pk)
    )
    if session.status != SessionStatus.PENDING_CONSENT:
        return session
    session.status = SessionStatus.ACTIVE
    session.consent_given_at = timezone.now()
    session.save(update_fields=["status", "consent_given_at"])
    _send_seed(session=session, config=bot_config(chatbot=session.chatbot, version=session.version))
    return session


@transaction.atomic
def session_end(*, session: ChatSession, reason: hooks.EndReason = hooks.EndReason.MANUAL) -> ChatSession:
    """End ``session`` (once: ending an ended session changes nothing and tells nobody). ``reason`` is who ended it,
    for the "conversation ended" triggers."""
    if session.status != SessionStatus.ENDED:
        session.status = SessionStatus.ENDED
        session.ended_at = timezone.now()
        session.save(update_fields=["status", "ended_at"])
        logger.info("session.ended", extra={"session": str(session.external_id), "reason": str(reason)})
        hooks.emit(hooks.Occurrence(hooks.ConversationEvent.SESSION_ENDED, session, end_reason=reason))
    return session


@transaction.atomic
def session_restart(*, session: ChatSession, started_by: Any = None) -> ChatSession:
    """End ``session`` and start a fresh one for the same participant on the same chatbot, version and platform:
    both or neither (a chatbot archived meanwhile refuses the new one and the old one stays open)."""
    session_end(session=session)
    return session_start(
        chatbot=session.chatbot,
        version=session.version,
        participant=session.participant,
        platform=session.platform,
        started_by=started_by,
    )


def editor_session_get_or_start(*, chatbot: Chatbot, external_id: Any, user: Any) -> ChatSession:
    """The pipeline editor's test conversation on the working copy: the one named (if it is still open and is a
    working-copy web session of this chatbot), else a new one for this member.

    The builder is testing the pipeline, not the consent flow: a new test session gives consent at once.
    """
    if external_id is not None:
        session = (
            ChatSession.objects.select_related("chatbot")
            .filter(
                external_id=external_id,
                chatbot=chatbot,
                version__isnull=True,
                platform=Platform.WEB,
                status=SessionStatus.ACTIVE,
            )
            .first()
        )
        if session is not None:
            return session
    session = session_start(
        chatbot=chatbot,
        version=None,
        participant=participant_for_member(user=user),
        platform=Platform.WEB,
        started_by=user,
    )
    if session.status == SessionStatus.PENDING_CONSENT:
        session = session_consent_give(session=session)
    return session


MAX_STATE_BYTES = 64 * 1024  # session state and participant data set through the API


def _json_size_check(value: dict[str, Any], *, code: str) -> None:
    if len(json.dumps(value, default=str)) > MAX_STATE_BYTES:
        raise InvalidStateError(code=code, message=f"Keep it under {MAX_STATE_BYTES // 1024} KB of JSON.")


@transaction.atomic
def session_state_update(*, session: ChatSession, changes: dict[str, Any], replace: bool = False) -> ChatSession:
    """Merge ``changes`` into the session's ``session_state`` (keys set to null are removed), or replace it.

    The row lock keeps a turn that writes state at the same time from losing either change."""
    session = ChatSession.objects.select_for_update(of=("self",)).get(pk=session.pk)
    state = {} if replace else dict(session.state or {})
    for name, value in changes.items():
        if value is None:
            state.pop(name, None)
        else:
            state[name] = value
    _json_size_check(state, code="session.state_too_large")
    session.state = state
    session.save(update_fields=["state"])
    return session


@transaction.atomic
def participant_data_update(
    *, participant: Participant, chatbot: Chatbot, changes: dict[str, Any], replace: bool = False
) -> dict[str, Any]:
    """Merge ``changes`` into what pipelines remember about ``participant`` on ``chatbot`` (null removes a key)."""
    row, _ = ParticipantData.objects.select_for_update().get_or_create(participant=participant, chatbot=chatbot)
    data = {} if replace else dict(row.data or {})
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    _json_size_check(data, code="participant.data_too_large")
    row.data = data
    row.save(update_fields=["data", "updated_at"])
    return data


def turn_enqueue(message: ChatMessage) -> None:
    """Run ``message``'s turn on the ``chat`` queue once the current transaction commits (at once outside one)."""
    message_id = message.pk
    transaction.on_commit(lambda: tasks.turn_process_task.delay(message_id=message_id))


# ------------------------------------------------------------------------------------------- review: tags, comments


@transaction.atomic
def message_tag_add(*, message: ChatMessage, name: str, user: Any) -> Tag:
    name = name.strip()
    if not name:
        raise InvalidStateError(code="tag.empty", message="Type a tag.")
    if len(name) > tags.MAX_LENGTH:
        raise InvalidStateError(code="tag.too_long", message=f"Tags are at most {tags.MAX_LENGTH} characters.")
    return tags.tags_add(message=message, names=[name], user=user)[0]


@transaction.atomic
def message_tag_remove(*, message: ChatMessage, tag: Tag) -> None:
    MessageTag.objects.filter(message=message, tag=tag).delete()


@transaction.atomic
def message_comment_add(*, message: ChatMessage, text: str, user: Any) -> MessageComment:
    text = text.strip()
    if not text:
        raise InvalidStateError(code="comment.empty", message="Write a comment.")
    return MessageComment.objects.create(message=message, user=user, text=text[:5000])


# ---------------------------------------------------------------------------------------------------- exports


@transaction.atomic
def export_create(*, filters: SessionFilters, user: Any) -> SessionExport:
    """Queue a CSV export of the sessions ``filters`` select; ``session_export_task`` writes it (``exports``)."""
    export = SessionExport.objects.create(filters=filters.as_dict(), created_by=user)
    export_id = export.pk
    transaction.on_commit(lambda: tasks.session_export_task.delay(export_id=export_id))
    return export


def message_metadata_merge(*, message_id: int, values: dict[str, Any]) -> None:
    """Set top-level keys of a message's metadata (a JSON merge: other keys, and concurrent writes of them, stay):
    what a platform said about a message after it was stored (its ids, its delivery status)."""
    merged = CombinedExpression(F("metadata"), "||", Value(values, output_field=JSONField()))
    ChatMessage.objects.filter(pk=message_id).update(metadata=merged)


def message_delivery_note(*, message_id: int, status: str, error: str = "") -> None:
    """Record on a reply how its channel's send went (``metadata["delivery"]``: status, and the error of a final
    failure), so the session page shows a reply that never reached the participant. A JSON merge: nothing else in
    the metadata is overwritten."""
    note: dict[str, str] = {"status": status}
    if error:
        note["error"] = error[:300]
    message_metadata_merge(message_id=message_id, values={"delivery": note})

"""``/api/v1/sessions/`` and ``/api/v1/participants/``: read conversations, end them, tag them, set their state;
read and change what pipelines remember about a participant; upload files; send a bot-initiated message.

Adapters only: reads are ``conversations.selectors``, writes ``conversations.services`` / ``uploads`` (the same
ones the review pages and channels use).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from shared_apps.core.exceptions import InvalidStateError, NotFoundError
from tenant_apps.api.conventions import RequestInvalidError, ResourceApiView, bounded_int
from tenant_apps.chatbots import selectors as chatbot_selectors
from tenant_apps.conversations import selectors, services, uploads
from tenant_apps.conversations.enums import MessageRole, Platform, SessionStatus
from tenant_apps.conversations.models import ChatMessage, ChatSession, Participant
from tenant_apps.events.outbound import bot_message_send
from tenants.enums import Role

MAX_TAGS = 20


def _actor(request: Request) -> Any:
    return request.user if getattr(request.user, "pk", None) else None


class ParticipantOutputSerializer(serializers.Serializer):
    """A participant (``participant_payload``): who talks to chatbots, per platform."""

    id = serializers.IntegerField()
    public_id = serializers.UUIDField()
    platform = serializers.ChoiceField(choices=Platform.choices)
    identifier = serializers.CharField(allow_blank=True)
    name = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class SessionOutputSerializer(serializers.Serializer):
    """A session (``session_payload``)."""

    id = serializers.UUIDField()
    chatbot_id = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True, help_text="The version it runs; null: the working copy.")
    participant = ParticipantOutputSerializer()
    platform = serializers.ChoiceField(choices=Platform.choices)
    status = serializers.ChoiceField(choices=SessionStatus.choices)
    state = serializers.DictField(help_text="The session's ``session_state``.")
    message_count = serializers.IntegerField(allow_null=True, help_text="In lists only.")
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)


class MessageOutputSerializer(serializers.Serializer):
    """A message (``message_payload``) with its tags."""

    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=MessageRole.choices)
    content = serializers.CharField(allow_blank=True)
    attachments = serializers.ListField(child=serializers.DictField())
    tags = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()


class SessionDetailOutputSerializer(SessionOutputSerializer):
    messages = MessageOutputSerializer(many=True)


def participant_payload(participant: Participant) -> dict[str, Any]:
    return {
        "id": participant.pk,
        "public_id": str(participant.public_id),
        "platform": participant.platform,
        "identifier": participant.identifier,
        "name": participant.name,
        "created_at": participant.created_at.isoformat(),
    }


def session_payload(session: ChatSession) -> dict[str, Any]:
    return {
        "id": str(session.external_id),
        "chatbot_id": session.chatbot_id,
        "version": session.version.number if session.version is not None else None,
        "participant": participant_payload(session.participant),
        "platform": session.platform,
        "status": session.status,
        "state": session.state,
        "message_count": getattr(session, "message_count", None),
        "created_at": session.created_at.isoformat(),
        "last_activity_at": session.last_activity_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
    }


def message_payload(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "role": message.role,
        "content": message.content,
        "attachments": message.attachments,
        "tags": sorted(tag.name for tag in message.tags.all()),
        "created_at": message.created_at.isoformat(),
    }


def _date(request: Request, name: str) -> date | None:
    value = request.query_params.get(name, "")
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise RequestInvalidError(
            code="request.invalid_parameter", message=f"“{name}” is a date (YYYY-MM-DD).", extra={"parameter": name}
        ) from exc


class SessionListApi(ResourceApiView):
    """``GET``: sessions, newest first. Filters: ``chatbot_id``, ``version`` (a number or ``working``),
    ``status``, ``date_from``/``date_to``, ``participant`` (identifier or name contains), ``tag``, ``text``."""

    required_role = Role.VIEWER
    ordering_fields = ("created_at", "last_activity_at")
    output_serializer = SessionOutputSerializer
    output_paginated = True

    @extend_schema(
        parameters=[
            OpenApiParameter("chatbot_id", int),
            OpenApiParameter(
                "version", {"type": "string", "pattern": r"^([0-9]+|working)$"}, description="A number or `working`."
            ),
            OpenApiParameter("status", str, enum=list(SessionStatus.values)),
            OpenApiParameter("date_from", OpenApiTypes.DATE),
            OpenApiParameter("date_to", OpenApiTypes.DATE),
            OpenApiParameter("participant", str, description="Identifier or name contains."),
            OpenApiParameter("tag", str, description="A message of the session carries this tag."),
            OpenApiParameter("text", str, description="A message of the session contains this text."),
        ]
    )
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status", "")
        if status and status not in SessionStatus.values:
            raise RequestInvalidError(
                code="request.invalid_parameter",
                message="Unknown session status.",
                extra={"parameter": "status", "allowed": list(SessionStatus.values)},
            )
        filters = selectors.SessionFilters(
            chatbot_id=bounded_int(request, "chatbot_id"),
            version=request.query_params.get("version", "")[:12],
            status=status,
            date_from=_date(request, "date_from"),
            date_to=_date(request, "date_to"),
            participant=request.query_params.get("participant", "")[:255],
            tag=request.query_params.get("tag", "")[:60],
            text=request.query_params.get("text", "")[:200],
        )
        return self.paginated(request, self.ordered(request, selectors.session_list(filters=filters)), session_payload)


class SessionDetailApi(ResourceApiView):
    """``GET``: the session with its visible messages (and their tags)."""

    required_role = Role.VIEWER
    output_serializer = SessionDetailOutputSerializer

    def get(self, request: Request, session_id: Any) -> Response:
        session = selectors.session_get(external_id=session_id)
        payload = session_payload(session)
        payload["messages"] = [message_payload(m) for m in selectors.session_transcript(session=session)]
        return Response(payload)


class SessionEndApi(ResourceApiView):
    required_role = Role.EDITOR
    output_serializer = SessionOutputSerializer

    def post(self, request: Request, session_id: Any) -> Response:
        session = services.session_end(session=selectors.session_get(external_id=session_id))
        return Response(session_payload(session))


class SessionTagsApi(ResourceApiView):
    """``POST {"tags": [...], "message_id"?}``: tag a message of the session (default: its latest visible one).
    ``DELETE`` with the same body removes the tags."""

    required_role = Role.EDITOR

    class InputSerializer(serializers.Serializer):
        tags = serializers.ListField(child=serializers.CharField(max_length=60), min_length=1, max_length=MAX_TAGS)
        message_id = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)

    def _target(self, request: Request, session_id: Any) -> tuple[ChatMessage, list[str]]:
        session = selectors.session_get(external_id=session_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "message_id" in data:
            message = selectors.message_get(session=session, message_id=data["message_id"])
        else:
            latest = selectors.session_transcript(session=session).order_by("-created_at", "-id").first()
            if latest is None:
                raise NotFoundError(code="message.not_found", message="This session has no message to tag yet.")
            message = latest
        return message, data["tags"]

    def post(self, request: Request, session_id: Any) -> Response:
        message, names = self._target(request, session_id)
        for name in names:
            services.message_tag_add(message=message, name=name, user=_actor(request))
        return Response({"message_id": message.pk, "tags": sorted(message.tags.values_list("name", flat=True))})

    def delete(self, request: Request, session_id: Any) -> Response:
        message, names = self._target(request, session_id)
        for tag in message.tags.filter(name__in=names):
            services.message_tag_remove(message=message, tag=tag)
        return Response({"message_id": message.pk, "tags": sorted(message.tags.values_list("name", flat=True))})


class SessionStateApi(ResourceApiView):
    """``GET``: the session's ``session_state``. ``PATCH {"state": {...}, "replace"?: false}``: merge (null
    removes a key) or replace it."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR

    class InputSerializer(serializers.Serializer):
        state = serializers.DictField()
        replace = serializers.BooleanField(required=False, default=False)

    def get(self, request: Request, session_id: Any) -> Response:
        return Response({"state": selectors.session_get(external_id=session_id).state})

    def patch(self, request: Request, session_id: Any) -> Response:
        session = selectors.session_get(external_id=session_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        session = services.session_state_update(
            session=session,
            changes=serializer.validated_data["state"],
            replace=serializer.validated_data["replace"],
        )
        return Response({"state": session.state})


class SessionFileUploadApi(ResourceApiView):
    """``POST`` multipart ``file`` (one or more): store files in the session for a later message to attach (the
    chatbot must accept files; type and size limits as for the widget). Answers their ids."""

    required_role = Role.EDITOR
    idempotent = True
    parser_classes = [MultiPartParser]

    def post(self, request: Request, session_id: Any) -> Response:
        session = selectors.session_get(external_id=session_id)
        files = request.FILES.getlist("file")
        stored = uploads.files_upload(session=session, files=files)
        return Response({"files": [uploads.attachment_entry(chat_file) for chat_file in stored]}, status=201)


class ParticipantListApi(ResourceApiView):
    """``GET``: participants (``?platform=``, ``?identifier=`` contains)."""

    required_role = Role.VIEWER
    ordering_fields = ("created_at", "identifier")
    output_serializer = ParticipantOutputSerializer
    output_paginated = True

    @extend_schema(
        parameters=[
            OpenApiParameter("platform", str, enum=list(Platform.values)),
            OpenApiParameter("identifier", str, description="Identifier contains."),
        ]
    )
    def get(self, request: Request) -> Response:
        queryset = selectors.participant_list(
            platform=request.query_params.get("platform", "")[:20],
            identifier=request.query_params.get("identifier", "")[:255],
        )
        return self.paginated(request, self.ordered(request, queryset), participant_payload)


class ParticipantDataApi(ResourceApiView):
    """``GET [?chatbot_id=]``: what pipelines remember about the participant, per chatbot. ``PATCH
    {"chatbot_id", "data": {...}, "replace"?}``: merge (null removes a key) or replace it."""

    required_role = Role.VIEWER
    write_role = Role.EDITOR

    class InputSerializer(serializers.Serializer):
        chatbot_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
        data = serializers.DictField()  # type: ignore[assignment]
        replace = serializers.BooleanField(required=False, default=False)

    @extend_schema(parameters=[OpenApiParameter("chatbot_id", int, description="Only this chatbot's data.")])
    def get(self, request: Request, participant_id: int) -> Response:
        participant = selectors.participant_get(participant_id=participant_id)
        chatbot_id = bounded_int(request, "chatbot_id")
        rows = selectors.participant_data_list(participant=participant, chatbot_id=chatbot_id)
        return Response(
            {
                "participant_id": participant.pk,
                "results": [{"chatbot_id": row.chatbot_id, "data": row.data} for row in rows],
            }
        )

    def patch(self, request: Request, participant_id: int) -> Response:
        participant = selectors.participant_get(participant_id=participant_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chatbot = chatbot_selectors.chatbot_get(chatbot_id=serializer.validated_data["chatbot_id"])
        data = services.participant_data_update(
            participant=participant,
            chatbot=chatbot,
            changes=serializer.validated_data["data"],
            replace=serializer.validated_data["replace"],
        )
        return Response({"participant_id": participant.pk, "chatbot_id": chatbot.pk, "data": data})


class BotMessageApi(ResourceApiView):
    """``POST {"identifier", "platform", "message", "start_new_session"?}``: the chatbot writes first to a
    participant (created on first contact) on a channel; stored in their open session (or a new one on the
    published version) and delivered by that channel's sender."""

    required_role = Role.EDITOR
    idempotent = True

    class InputSerializer(serializers.Serializer):
        identifier = serializers.CharField(max_length=255)
        platform = serializers.ChoiceField(choices=[p for p in Platform.values if p != Platform.WEB])
        message = serializers.CharField(max_length=20_000)
        start_new_session = serializers.BooleanField(required=False, default=False)

    def post(self, request: Request, chatbot_id: int) -> Response:
        chatbot = chatbot_selectors.chatbot_get(chatbot_id=chatbot_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        participant = services.participant_get_or_create(platform=data["platform"], identifier=data["identifier"])
        session = None
        if data["start_new_session"]:
            if chatbot.published_version is None:
                raise InvalidStateError(
                    code="events.no_published_version", message="Publish a version of the chatbot first."
                )
            session = services.session_start(
                chatbot=chatbot, version=chatbot.published_version, participant=participant, platform=data["platform"]
            )
        message = bot_message_send(
            chatbot=chatbot, participant=participant, text=data["message"], origin="api", session=session
        )
        return Response(
            {"session_id": str(message.session.external_id), "message": message_payload(message)}, status=201
        )

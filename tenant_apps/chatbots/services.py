"""Writes to chatbots, versions and consent forms."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from shared_apps.billing.enforcement import plan_limit_enforce
from shared_apps.billing.enums import Resource
from tenant_apps.audit.services import audit_record
from tenant_apps.chatbots import selectors, versioning
from tenant_apps.chatbots.exceptions import ChatbotInvalidError, InvalidStateError
from tenant_apps.chatbots.models import Chatbot, ChatbotVersion, ConsentForm
from tenant_apps.pipelines import services as pipeline_services
from tenant_apps.pipelines.graph import pipeline_validate
from tenant_apps.providers import selectors as provider_selectors

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = (
    "name",
    "description",
    "seed_message",
    "participant_allowlist",
    "consent_form",
    "file_uploads_enabled",
    "is_public",
)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{4,}$")


def allowlist_clean(entries: list[str] | str) -> list[str]:
    """Emails, phone numbers or platform ids, one per line/comma; normalised and de-duplicated."""
    if isinstance(entries, str):
        entries = re.split(r"[\n,]", entries)
    cleaned: list[str] = []
    for raw in entries:
        entry = raw.strip()
        if not entry:
            continue
        if "@" in entry:
            validate_email(entry)
            entry = entry.lower()
        elif _PHONE.match(entry):
            entry = re.sub(r"[ ()-]", "", entry)
        if len(entry) > 255:
            raise ChatbotInvalidError(code="chatbot.invalid_allowlist", message=f"“{entry[:40]}…” is too long.")
        if entry not in cleaned:
            cleaned.append(entry)
    return cleaned


@transaction.atomic
def chatbot_create(
    *,
    name: str,
    description: str = "",
    created_by: Any = None,
    llm_provider_id: int | None = None,
    llm_model: str | None = None,
    prompt: str | None = None,
    temperature: float | None = None,
) -> Chatbot:
    """A chatbot with the default pipeline (start → LLM → end) on the given provider and model (default: the
    team's first provider and its suggested model) and system prompt (default: a short helpful-assistant one).

    The LLM node's params are checked by the same validation as the pipeline API (``chatbot.invalid_llm``).
    """
    plan_limit_enforce(resource=Resource.CHATBOTS)
    name = name.strip()
    if not name:
        raise ChatbotInvalidError(code="chatbot.invalid_name", message="Give the chatbot a name.")
    if llm_provider_id is None:
        default = provider_selectors.llm_first_choice()
        llm_provider_id, llm_model = (default.provider_id, default.model) if default else (None, None)
    graph = pipeline_services.default_graph(
        llm_provider_id=llm_provider_id, llm_model=llm_model, prompt=prompt, temperature=temperature
    )
    if llm_provider_id is not None:
        _raise_llm_errors(graph)
    pipeline = pipeline_services.pipeline_create(name=name, graph=graph)
    chatbot = Chatbot.objects.create(name=name, description=description, pipeline=pipeline, created_by=created_by)
    audit_record(actor=created_by, action="chatbot.created", target=chatbot)
    return chatbot


LLM_FORM_FIELDS = (
    "prompt",
    "llm_provider_id",
    "llm_model",
    "temperature",
    "max_tokens",
    "history_type",
    "history_name",
    "history_mode",
    "user_max_token_limit",
    "max_history_length",
    "tools",
)


def _raise_llm_errors(graph: dict[str, Any]) -> None:
    """The pipeline API's validation of the graph; its LLM-node errors become ``chatbot.invalid_llm``."""
    errors = [
        error for error in pipeline_services.pipeline_validate(graph=graph) if error.code == "node.invalid_params"
    ]
    if errors:
        raise ChatbotInvalidError(
            code="chatbot.invalid_llm",
            message="Some of the model settings are not valid.",
            extra={"fields": {(error.field or "").split(".")[0]: error.message for error in errors}},
        )


@transaction.atomic
def chatbot_llm_update(*, chatbot: Chatbot, actor: Any, base_revision: int, **params: Any) -> Chatbot:
    """Change the LLM node of a start → LLM → end working copy (the Build tab), keeping its other params.

    Validated exactly as the pipeline API validates a node (``pipelines.services.pipeline_validate``) and saved
    through ``pipeline_update_graph`` with its revision check, so a save racing the visual editor is refused
    (``pipeline.conflict``) rather than silently overwriting it. Raises ``chatbot.not_simple`` for other shapes.
    """
    unknown = set(params) - set(LLM_FORM_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    graph = copy.deepcopy(chatbot.pipeline.graph)
    node = selectors.simple_llm_node(graph)
    if node is None:
        raise InvalidStateError(
            code="chatbot.not_simple", message="This pipeline has more than one step: edit it in the visual editor."
        )
    before = dict(node.get("params") or {})
    merged = {**before, **params}
    node["params"] = {key: value for key, value in merged.items() if value is not None}
    _raise_llm_errors(graph)
    pipeline_services.pipeline_update_graph(pipeline=chatbot.pipeline, graph=graph, base_revision=base_revision)
    changed = sorted(key for key in params if before.get(key) != node["params"].get(key))
    audit_record(actor=actor, action="chatbot.model_settings_changed", target=chatbot, data={"fields": changed})
    chatbot.pipeline.refresh_from_db()
    return chatbot


@transaction.atomic
def chatbot_update(*, chatbot: Chatbot, actor: Any, **changes: Any) -> Chatbot:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    if "name" in changes:
        changes["name"] = str(changes["name"]).strip()
        if not changes["name"]:
            raise ChatbotInvalidError(code="chatbot.invalid_name", message="Give the chatbot a name.")
    if "participant_allowlist" in changes:
        changes["participant_allowlist"] = allowlist_clean(changes["participant_allowlist"])
    for field, value in changes.items():
        setattr(chatbot, field, value)
    chatbot.save()
    audit_record(actor=actor, action="chatbot.settings_changed", target=chatbot, data={"fields": sorted(changes)})
    return chatbot


@transaction.atomic
def chatbot_copy(*, chatbot: Chatbot, name: str, actor: Any) -> Chatbot:
    """A new chatbot with the working settings and an editable copy of the working pipeline (no versions)."""
    plan_limit_enforce(resource=Resource.CHATBOTS)
    pipeline = pipeline_services.pipeline_copy(pipeline=chatbot.pipeline, frozen=False, name=name)
    copy = Chatbot.objects.create(
        name=name.strip() or f"{chatbot.name} (copy)",
        description=chatbot.description,
        pipeline=pipeline,
        seed_message=chatbot.seed_message,
        participant_allowlist=list(chatbot.participant_allowlist),
        consent_form=chatbot.consent_form,
        file_uploads_enabled=chatbot.file_uploads_enabled,
        created_by=actor,
    )
    audit_record(actor=actor, action="chatbot.copied", target=copy, data={"from": chatbot.pk})
    return copy


@transaction.atomic
def chatbot_archive(*, chatbot: Chatbot, actor: Any) -> Chatbot:
    chatbot.archived_at = timezone.now()
    chatbot.save(update_fields=["archived_at", "updated_at"])
    audit_record(actor=actor, action="chatbot.archived", target=chatbot)
    return chatbot


@transaction.atomic
def chatbot_unarchive(*, chatbot: Chatbot, actor: Any) -> Chatbot:
    plan_limit_enforce(resource=Resource.CHATBOTS)
    chatbot.archived_at = None
    chatbot.save(update_fields=["archived_at", "updated_at"])
    audit_record(actor=actor, action="chatbot.unarchived", target=chatbot)
    return chatbot


@transaction.atomic
def version_create(*, chatbot: Chatbot, actor: Any, description: str = "", publish: bool = False) -> ChatbotVersion:
    """Freeze the working copy into the next version; publish it if asked (the first version always is).

    The chatbot row lock serialises concurrent version creation and publishing; the (chatbot, number) unique
    constraint is the backstop. An invalid pipeline cannot be versioned.
    """
    chatbot = (
        Chatbot.objects.select_for_update(of=("self",)).select_related("pipeline", "consent_form").get(pk=chatbot.pk)
    )
    if chatbot.is_archived:
        raise InvalidStateError(code="chatbot.archived", message="Unarchive the chatbot before creating a version.")
    errors = pipeline_validate(graph=chatbot.pipeline.graph)
    if errors:
        raise ChatbotInvalidError(
            code="chatbot.invalid_pipeline",
            message="Fix the pipeline's errors before creating a version.",
            extra={"errors": [error.as_dict() for error in errors]},
        )
    number = (chatbot.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    frozen = pipeline_services.pipeline_copy(pipeline=chatbot.pipeline, frozen=True, name=f"{chatbot.name} v{number}")
    version = ChatbotVersion.objects.create(
        chatbot=chatbot,
        number=number,
        description=description.strip()[:500],
        snapshot=versioning.settings_snapshot(chatbot),
        pipeline=frozen,
        created_by=actor,
    )
    audit_record(actor=actor, action="chatbot.version_created", target=chatbot, data={"version": number})
    if publish or chatbot.published_version_id is None:
        _publish(chatbot=chatbot, version=version, actor=actor)
    return version


@transaction.atomic
def version_publish(*, version: ChatbotVersion, actor: Any) -> ChatbotVersion:
    """Make ``version`` the one channels serve (serialised by the chatbot row lock)."""
    chatbot = Chatbot.objects.select_for_update().get(pk=version.chatbot_id)
    _publish(chatbot=chatbot, version=version, actor=actor)
    return version


def _publish(*, chatbot: Chatbot, version: ChatbotVersion, actor: Any) -> None:
    previous = chatbot.published_version_id
    chatbot.published_version = version
    chatbot.save(update_fields=["published_version", "updated_at"])
    audit_record(
        actor=actor,
        action="chatbot.version_published",
        target=chatbot,
        data={"version": version.number, "previous": previous},
    )
    logger.info("chatbot.version_published", extra={"chatbot": chatbot.pk, "version": version.number})


@transaction.atomic
def version_update_description(*, version: ChatbotVersion, description: str, actor: Any) -> ChatbotVersion:
    version.description = description.strip()[:500]
    version.save(update_fields=["description"])
    return version


@transaction.atomic
def chatbot_revert(*, chatbot: Chatbot, version: ChatbotVersion, actor: Any) -> Chatbot:
    """Replace the working copy (settings and pipeline) with ``version``'s. Versions are untouched."""
    chatbot = Chatbot.objects.select_for_update().select_related("pipeline").get(pk=chatbot.pk)
    if version.chatbot_id != chatbot.pk:
        raise InvalidStateError(code="chatbot.wrong_version", message="That version belongs to another chatbot.")
    snapshot = version.snapshot
    chatbot.name = snapshot["name"]
    chatbot.description = snapshot["description"]
    chatbot.seed_message = snapshot["seed_message"]
    chatbot.participant_allowlist = list(snapshot["participant_allowlist"])
    chatbot.file_uploads_enabled = snapshot["file_uploads_enabled"]
    consent = snapshot.get("consent")
    chatbot.consent_form = ConsentForm.objects.filter(pk=consent["id"]).first() if consent else None
    chatbot.save()
    pipeline_services.pipeline_restore(pipeline=chatbot.pipeline, source=version.pipeline)
    for key, part in versioning.snapshot_parts().items():
        if key in snapshot:
            part.restore(chatbot, snapshot[key])
    audit_record(actor=actor, action="chatbot.reverted", target=chatbot, data={"version": version.number})
    return chatbot


@transaction.atomic
def consent_form_save(
    *, form: ConsentForm | None, name: str, consent_text: str, confirmation_text: str, actor: Any
) -> ConsentForm:
    errors = {}
    if not name.strip():
        errors["name"] = "Give the form a name."
    if not consent_text.strip():
        errors["consent_text"] = "Write the text participants agree to."
    if not confirmation_text.strip():
        errors["confirmation_text"] = "Say what participants type to agree (for example 1 or yes)."
    if errors:
        raise ChatbotInvalidError(
            code="consent.invalid", message="The consent form is incomplete.", extra={"fields": errors}
        )
    form = form or ConsentForm()
    form.name, form.consent_text, form.confirmation_text = name.strip(), consent_text, confirmation_text.strip()
    form.save()
    audit_record(actor=actor, action="consent_form.saved", target=form)
    return form


@transaction.atomic
def consent_form_delete(*, form: ConsentForm, actor: Any) -> None:
    in_use = form.chatbots.filter(archived_at__isnull=True).count()
    if in_use:
        raise InvalidStateError(
            code="consent.in_use", message=f"{in_use} chatbot(s) use this form. Choose another form for them first."
        )
    audit_record(actor=actor, action="consent_form.deleted", target=form)
    form.delete()

"""Property-based fuzzing of the management API (``/api/v1/``) from the committed OpenAPI schema, over real HTTP
against a live server with a seeded team (issue 14): bad input is a 4xx ``{"code","message","extra"}``, never a
5xx, and every answer matches the schema (status code, content type, body).

Each operation is one test item; they share one live server and one set of committed objects (a chatbot with a
published version, its pipeline, a widget channel, a provider, a participant with an open session and a message,
a full API key), removed after the module with everything the fuzzer created. Valid path parameters point at those
objects (a random integer would only ever hit 404); invalid ones (negative mode) are kept as generated. A
``DELETE`` gets an object of its own for every example, so it destroys only what the test made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.db import connection
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

from tenants.context import tenant_context
from tenants.models import Team
from tests.tenant_apps.api.conftest import serve_http

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
TEAM = "alpha"
MAX_EXAMPLES = 15
CEILING = 30.0  # seconds per request: a busy CI machine is slow, not broken

SCHEMA = schemathesis.openapi.from_path(COMMITTED).include(path_regex=r"^/api/v1/")
# The key is sent by the test (X-Api-Key); generated Authorization headers would only test the 401 path.
SCHEMA.config.generation.update(with_security_parameters=False)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass
class Seeded:
    team: Team
    key: str
    path_values: dict[str, Any]
    disposable: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)


def _snapshot(models: list[Any]) -> dict[Any, int]:
    return {model: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0 for model in models}


@pytest.fixture(scope="module")
def live_api(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """One live server for every operation (committed data: the test transaction is not used); requests come one
    at a time, so one server thread with one database connection answers them all."""
    with django_db_blocker.unblock(), serve_http(threaded=False) as url:
        yield url


@pytest.fixture(scope="module")
def seeded(live_api: str, django_db_blocker: Any, fake_llm_server: Any) -> Iterator[Seeded]:
    """Team alpha's committed objects for the module; afterwards every row newer than the snapshot (what the
    fixture and the fuzzer created) is deleted, children first."""
    with django_db_blocker.unblock():
        yield from _seed(fake_llm_server)
        connection.set_schema_to_public()


def _seed(fake_llm: Any) -> Iterator[Seeded]:
    from tenant_apps.api.models import ApiKey
    from tenant_apps.api.services import api_key_create
    from tenant_apps.audit.models import AuditEvent
    from tenant_apps.channels.models import Channel, ChannelSession, Delivery
    from tenant_apps.channels.services import channel_create
    from tenant_apps.chatbots.models import Chatbot, ChatbotVersion
    from tenant_apps.chatbots.services import chatbot_create, version_create
    from tenant_apps.conversations.models import (
        ChatFile,
        ChatMessage,
        ChatSession,
        MessageTag,
        Participant,
        ParticipantData,
        Tag,
    )
    from tenant_apps.conversations.services import participant_get_or_create
    from tenant_apps.events.outbound import bot_message_send
    from tenant_apps.pipelines.models import Pipeline
    from tenant_apps.providers.models import LlmProvider, LlmProviderModel
    from tenants.models import ChannelRoute
    from tests.factories.providers import llm_provider

    order = [
        AuditEvent, Delivery, ChannelSession, MessageTag, Tag, ChatFile, ChatMessage, ChatSession, ParticipantData,
        Participant, Channel, ChatbotVersion, Chatbot, Pipeline, LlmProviderModel, LlmProvider, ApiKey,
    ]  # fmt: skip
    team = Team.objects.get(slug=TEAM)
    counter = {"n": 0}

    def unique(prefix: str) -> str:
        counter["n"] += 1
        return f"{prefix} {counter['n']}"

    with tenant_context(team):
        before = _snapshot(order)
        counts = {model: model.objects.count() for model in order}
        routes_before = ChannelRoute.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        provider = llm_provider(base_url=fake_llm.openai_base_url, name="Fuzz LLM")
        bot = chatbot_create(name="Fuzz bot", created_by=None)
        version_create(chatbot=bot, actor=None)
        bot = Chatbot.objects.get(pk=bot.pk)
        channel = channel_create(chatbot=bot, kind="widget", name="Fuzz widget", user=None)
        participant = participant_get_or_create(platform="api", identifier="fuzz-participant")
        message = bot_message_send(chatbot=bot, participant=participant, text="Hello from the fuzz", origin="api")
        _, raw = api_key_create(name="fuzz", read_only=False, created_by=None)

    def disposable_bot() -> dict[str, Any]:
        with tenant_context(team):
            return {"chatbot_id": chatbot_create(name=unique("Fuzz bot"), created_by=None).pk}

    def disposable_provider() -> dict[str, Any]:
        with tenant_context(team):
            return {"id": llm_provider(base_url=fake_llm.openai_base_url, name=unique("Fuzz LLM")).pk}

    def disposable_channel() -> dict[str, Any]:
        with tenant_context(team):
            made = channel_create(chatbot=bot, kind="widget", name=unique("Fuzz widget"), user=None)
            return {"chatbot_id": bot.pk, "channel_id": made.pk}

    yield Seeded(
        team=team,
        key=raw,
        path_values={
            "chatbot_id": bot.pk,
            "channel_id": channel.pk,
            "number": 1,
            "id": provider.pk,
            "session_id": str(message.session.external_id),
            "participant_id": participant.pk,
        },
        disposable={
            "/api/v1/chatbots/{chatbot_id}/": disposable_bot,
            "/api/v1/providers/{id}/": disposable_provider,
            "/api/v1/chatbots/{chatbot_id}/channels/{channel_id}/": disposable_channel,
        },
    )

    with tenant_context(team):
        Chatbot.objects.filter(pk__gt=before[Chatbot]).update(published_version=None)
        channel_ids = list(Channel.objects.filter(pk__gt=before[Channel]).values_list("pk", flat=True))
        for model in order:
            model.objects.filter(pk__gt=before[model]).delete()
        left = {model.__name__: model.objects.count() - counts[model] for model in order}
        assert not any(left.values()), f"the fuzz left or removed rows of the team: {left}"
    ChannelRoute.objects.filter(team=team, pk__gt=routes_before, channel_id__in=channel_ids).delete()


def _positive(case: Any, location: ParameterLocation) -> bool:
    component = case.meta.components.get(location) if case.meta else None
    return component is None or component.mode == GenerationMode.POSITIVE


@SCHEMA.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,  # the same examples on every run: CI is deterministic
    deadline=None,  # the machine may be busy: time is no failure here
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_bad_input_with_a_documented_error(case: Any, live_api: str, seeded: Seeded) -> None:
    if case.path_parameters and _positive(case, ParameterLocation.PATH):
        values = dict(seeded.path_values)
        if case.method.upper() == "DELETE" and case.path in seeded.disposable:
            values.update(seeded.disposable[case.path]())
        case.path_parameters = {name: values.get(name, value) for name, value in case.path_parameters.items()}

    case.call_and_validate(
        base_url=live_api,
        headers={"Host": f"{seeded.team.slug}.localhost", "X-Api-Key": seeded.key},
        checks=CHECKS,
        timeout=CEILING,
    )

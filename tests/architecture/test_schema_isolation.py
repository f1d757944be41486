"""No statement names two team schemas, so whole team schemas can live on different database servers (Citus
schema-based sharding, docs/operations.md). A statement is recorded at the driver for a representative set of
flows (a member's pages, a chat turn, the deploy tooling that visits every schema, the console) and each must
name at most one team schema (``public`` and unqualified names are fine: they resolve through the search path).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from tests.tenant_apps.conftest import chatbot, fake_provider, owner  # noqa: F401  (fixtures)

_TEAM_SCHEMA = re.compile(r'"?\b(t_[a-z0-9_]+|team_template)"?\s*\.')


def team_schemas_named(sql: str) -> set[str]:
    return set(_TEAM_SCHEMA.findall(sql))


@contextmanager
def recorded() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(str(sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield statements


def _crossing(statements: list[str]) -> list[str]:
    return [sql for sql in statements if len(team_schemas_named(sql)) > 1]


def test_detector_sees_two_schemas_in_one_statement():
    assert team_schemas_named('SELECT * FROM "t_alpha".chatbots_chatbot JOIN t_bravo.x ON 1=1') == {
        "t_alpha",
        "t_bravo",
    }
    assert team_schemas_named("SELECT 1 FROM chatbots_chatbot") == set()


def test_member_pages_and_a_chat_turn_stay_in_one_schema(chatbot, owner, team_a, client_for):  # noqa: F811
    from tenant_apps.conversations import ingress, services, turns
    from tenant_apps.conversations.enums import Platform

    client = client_for(team_a, owner)
    with recorded() as statements:
        for path in ("/", "/chatbots/", f"/chatbots/{chatbot.pk}/", "/sessions/", "/settings/audit/", "/members/"):
            client.get(path)
        participant = services.participant_for_member(user=owner)
        session = services.session_start(chatbot=chatbot, version=None, participant=participant, platform=Platform.WEB)
        received = ingress.message_receive(session=session, inbound=ingress.Inbound(text="hello"))
        turns.turn_process(message_id=received.message.pk)

    assert statements
    assert not _crossing(statements), _crossing(statements)


def test_deploy_tooling_visits_schemas_one_statement_at_a_time(team_a, team_b):
    from tenants import migrating

    with recorded() as statements:
        migrating.schemas_with_pending(migrating.team_schemas())

    assert len(statements) >= 3
    assert not _crossing(statements)


def test_console_pages_open_no_team_schema(team_a, team_b, make_user):
    from tests.conftest import TeamClient
    from tests.shared_apps.console.conftest import mfa_enable, mfa_session

    staff = make_user(is_staff=True)
    mfa_enable(staff)
    client = TeamClient("localhost")
    client.force_login(staff)
    mfa_session(client, staff)
    pages = ["/console/", "/console/teams/", "/console/teams/?sort=-messages", f"/console/teams/{team_a.pk}/"]
    pages += ["/console/health/", "/console/audit/", "/console/catalog/", "/status/"]

    with recorded() as statements:
        statuses = [client.get(path).status_code for path in pages]

    assert statuses == [200] * len(pages)
    named = set().union(*(team_schemas_named(sql) for sql in statements))
    assert not named, named

"""The database backend on a pooled connection (the gevent chat worker, ADR 0090): a checkout that wants the
search_path the connection already carries skips the ``SET search_path`` round trip; another schema still gets it."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.core.db_backend.base import DatabaseWrapper
from tenants.models import Team


@pytest.fixture
def pooled(db: None) -> Iterator[DatabaseWrapper]:
    settings = copy.deepcopy(connection.settings_dict)
    settings["CONN_MAX_AGE"] = 0
    settings["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 1}
    wrapper = DatabaseWrapper(settings, alias="pooled_test")
    yield wrapper
    wrapper.close()
    wrapper.close_pool()


def _statements(wrapper: DatabaseWrapper, sql: str) -> list[str]:
    with CaptureQueriesContext(wrapper) as captured, wrapper.cursor() as cursor:
        cursor.execute(sql)
    return [query["sql"] for query in captured.captured_queries]


def test_a_checkout_skips_the_set_when_the_pooled_connection_has_the_schema(pooled):
    alpha, bravo = Team.objects.get(slug="alpha"), Team.objects.get(slug="bravo")
    pooled.set_tenant(alpha)
    with pooled.cursor() as cursor:  # the first checkout sets the path (and Django checks the server's version)
        cursor.execute("SELECT 1")
    pooled.close()  # back to the pool

    again = _statements(pooled, "SELECT 2")
    with pooled.cursor() as cursor:
        cursor.execute("SELECT current_schemas(false)")
        still = cursor.fetchone()[0][0]
    pooled.close()
    pooled.set_tenant(bravo)
    other = _statements(pooled, "SELECT current_schemas(false)")

    assert again == ["SELECT 2"]
    assert still == alpha.schema_name
    assert other[0].startswith("SET search_path")
    with pooled.cursor() as cursor:
        cursor.execute("SELECT current_schemas(false)")
        assert cursor.fetchone()[0][0] == bravo.schema_name

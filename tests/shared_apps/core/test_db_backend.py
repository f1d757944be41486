"""Connections that have served many team schemas are recycled at a safe point (ADR 0151)."""

from __future__ import annotations

import copy

import pytest

from shared_apps.core.db import connection
from shared_apps.core.db_backend.base import DatabaseWrapper, schemas_touched


def _backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _visit(wrapper, *schemas: str) -> None:
    for schema in schemas:
        wrapper.set_schema(schema)
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM audit_auditevent")


def test_connection_counts_distinct_schemas_and_is_closed_at_the_boundary(django_db_setup, committed, settings):
    settings.DB_RECYCLE_AFTER_SCHEMAS = 3
    connection.close()
    first = _backend_pid(connection)
    _visit(connection, "t_alpha", "t_bravo", "t_alpha")
    assert schemas_touched(connection.connection) == 3  # public, t_alpha, t_bravo

    connection.close_if_unusable_or_obsolete()  # what Django runs at request start/end, Celery around tasks

    assert connection.connection is None
    connection.set_schema_to_public()
    assert _backend_pid(connection) != first


def test_a_connection_below_the_limit_is_kept(django_db_setup, committed, settings):
    settings.DB_RECYCLE_AFTER_SCHEMAS = 50
    connection.close()
    first = _backend_pid(connection)
    _visit(connection, "t_alpha")

    connection.close_if_unusable_or_obsolete()

    connection.set_schema_to_public()
    assert _backend_pid(connection) == first


def test_never_recycled_inside_a_transaction(db, settings, team_a, team_b):
    settings.DB_RECYCLE_AFTER_SCHEMAS = 1
    _visit(connection, "t_alpha", "t_bravo")

    connection.close_if_unusable_or_obsolete()

    assert connection.connection is not None  # the test transaction is still open on it
    connection.set_schema_to_public()


@pytest.fixture
def pooled_wrapper(django_db_setup, committed):
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict["CONN_MAX_AGE"] = 0
    settings_dict["OPTIONS"] = {**settings_dict["OPTIONS"], "pool": {"min_size": 1, "max_size": 1, "timeout": 30}}
    wrapper = DatabaseWrapper(settings_dict, alias="recycle_pool_test")
    yield wrapper
    wrapper.close()
    wrapper.close_pool()


def test_pooled_connection_is_discarded_when_handed_back(pooled_wrapper, settings):
    settings.DB_RECYCLE_AFTER_SCHEMAS = 3
    first = _backend_pid(pooled_wrapper)
    pooled_wrapper.close()  # back to the pool: kept (1 schema)
    assert _backend_pid(pooled_wrapper) == first
    _visit(pooled_wrapper, "t_alpha", "t_bravo")

    pooled_wrapper.close()  # 3 schemas: discarded, the pool opens another

    pooled_wrapper.set_schema_to_public()
    assert _backend_pid(pooled_wrapper) != first


def test_recycling_off_with_zero(django_db_setup, committed, settings):
    settings.DB_RECYCLE_AFTER_SCHEMAS = 0
    connection.close()
    first = _backend_pid(connection)
    _visit(connection, "t_alpha", "t_bravo")

    connection.close_if_unusable_or_obsolete()

    connection.set_schema_to_public()
    assert _backend_pid(connection) == first

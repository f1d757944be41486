"""Run code inside a team's schema (or in public). Use these everywhere instead of raw schema names."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django_tenants.utils import get_public_schema_name

from shared_apps.core.db import connection
from tenants.models import Team


@contextmanager
def tenant_context(team: Team) -> Iterator[Team]:
    """Switch the connection's search path to ``team`` and back, even on error."""
    previous = connection.tenant
    connection.set_tenant(team)
    try:
        yield team
    finally:
        connection.set_tenant(previous)


@contextmanager
def public_context() -> Iterator[None]:
    """Run in the public schema only (no team tables visible)."""
    previous = connection.tenant
    connection.set_schema_to_public()
    try:
        yield
    finally:
        connection.set_tenant(previous)


def current_schema() -> str:
    return str(connection.schema_name)


def in_public() -> bool:
    return connection.schema_name == get_public_schema_name()


def current_team() -> Team | None:
    """The active team, or None in public. Cheap: served from the resolver cache."""
    if in_public():
        return None
    tenant = connection.tenant
    if isinstance(tenant, Team):
        return tenant
    from tenants.resolver import team_for_schema

    return team_for_schema(connection.schema_name)

"""Test teams, clients and helpers shared by every test.

Two team schemas (alpha, bravo) are built once per test database and kept with ``--reuse-db``; every test runs
in a transaction that is rolled back. Never create a schema per test: provisioning tests that must commit use the
``committed`` fixture and clean up after themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_django.fixtures as pytest_django_fixtures
from django.db import connection
from django.test import Client

from shared_apps.accounts.models import User
from tenants import resolver
from tenants.context import tenant_context
from tenants.enums import Role, TeamStatus
from tenants.models import Membership, Team

TEAM_A, TEAM_B = "alpha", "bravo"


def _databases_always_default(items: Any) -> tuple[set[str], set[str]]:
    """pytest-django creates the test database only for aliases that collected tests mark as used; a run of tests
    that reach the database only through ``committed``/``live_worker`` (no ``db``) would otherwise get none and talk
    to the development database's name. Every run here needs ``default``."""
    aliases, serialized = _databases_for_setup(items)
    return aliases | {"default"}, serialized


_databases_for_setup = pytest_django_fixtures._get_databases_for_setup
pytest_django_fixtures._get_databases_for_setup = _databases_always_default


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """Build the public tenant, the global catalog and the two test teams once; --reuse-db keeps them."""
    from shared_apps.catalog.services import catalog_seed
    from tenants.lifecycle import team_provision
    from tenants.migrating import migrate_all
    from tenants.services.teams import public_tenant_ensure, team_create

    with django_db_blocker.unblock():
        migrate_all(parallel=1)
        public_tenant_ensure()
        catalog_seed()
        for slug in (TEAM_A, TEAM_B):
            team = Team.objects.filter(slug=slug).first()
            if team is None:
                team = team_create(name=slug.title(), slug=slug, provision_async=False)
            if team.status != TeamStatus.ACTIVE:
                Team.objects.filter(pk=team.pk).update(status=TeamStatus.PROVISIONING)
                team_provision(team_id=team.pk)
        connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_team_cache() -> Iterator[None]:
    # A rolled-back test never runs its on_commit invalidation: start every test with empty caches.
    from shared_apps.billing.snapshot import clear_cache as clear_billing_cache

    resolver._cache.clear()
    clear_billing_cache()
    yield
    resolver._cache.clear()
    clear_billing_cache()
    connection.set_schema_to_public()


@pytest.fixture
def team_a(db: None) -> Team:
    return Team.objects.get(slug=TEAM_A)


@pytest.fixture
def team_b(db: None) -> Team:
    return Team.objects.get(slug=TEAM_B)


@pytest.fixture
def team(team_a: Team) -> Iterator[Team]:
    """Team A, with the connection inside its schema for the whole test."""
    with tenant_context(team_a):
        yield team_a


@pytest.fixture
def other_team(team_b: Team) -> Team:
    """Team B (not entered): the owner of the objects a cross-team probe must not reach."""
    return team_b


class TeamClient(Client):
    """A test client on one host that leaves the test's own schema as it found it after each request."""

    def __init__(self, host: str, **kwargs: Any) -> None:
        super().__init__(HTTP_HOST=host, **kwargs)
        self.host = host

    def request(self, **request: Any) -> Any:
        previous = connection.tenant
        try:
            return super().request(**request)
        finally:
            if connection.schema_name != previous.schema_name:
                connection.set_tenant(previous)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    counter = {"n": 0}

    def make(email: str | None = None, password: str = "a-strong-pass-123", **extra: Any) -> User:
        from allauth.account.models import EmailAddress

        counter["n"] += 1
        user = User.objects.create_user(email=email or f"user{counter['n']}@example.com", password=password, **extra)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    return make


@pytest.fixture
def make_member(make_user: Callable[..., User]) -> Callable[..., User]:
    def make(team: Team, role: Role = Role.OWNER, **kwargs: Any) -> User:
        user = make_user(**kwargs)
        Membership.objects.create(user=user, team=team, role=role)
        return user

    return make


@pytest.fixture
def host_for() -> Callable[[Team], str]:
    return lambda team: f"{team.slug}.localhost"


@pytest.fixture
def apex_client(db: None) -> TeamClient:
    return TeamClient("localhost")


@pytest.fixture
def client_for(db: None, host_for: Callable[[Team], str]) -> Callable[..., TeamClient]:
    """``client_for(team, user=None)``: a client on the team's host, logged in as ``user`` when given."""

    def make(team: Team, user: User | None = None) -> TeamClient:
        client = TeamClient(host_for(team))
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def member_client(team_a: Team, make_member: Callable[..., User], client_for: Callable[..., TeamClient]) -> TeamClient:
    """Team A's host, logged in as an owner of team A."""
    return client_for(team_a, make_member(team_a, Role.OWNER))


@pytest.fixture
def committed(django_db_blocker: Any) -> Iterator[None]:
    """Database access *outside* a test transaction (changes commit). Clean up what you create; the usage that
    turns run by a real worker metered (public billing roll-ups of the shared test teams) is removed here."""
    from shared_apps.billing.models import MeterEvent, UsageDay, UsagePeriod

    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()
        for model in (MeterEvent, UsageDay, UsagePeriod):
            model.objects.all().delete()


def _clear_rate_limit_counters() -> None:
    from django.conf import settings as django_settings

    from shared_apps.core.redis import get_redis

    redis = get_redis()
    prefix = django_settings.CACHES["default"]["KEY_PREFIX"]
    for pattern in ("*allauth:rl:*", f"{prefix}:rl:*"):
        keys = list(redis.scan_iter(match=pattern, count=500))
        if keys:
            redis.delete(*keys)


@pytest.fixture
def rate_limits_on(settings: Any) -> Iterator[None]:
    """Turn on allauth's and our own rate limits (test settings switch both off) with clean counters."""
    from config.settings.components import auth

    settings.ACCOUNT_RATE_LIMITS = dict(auth.ACCOUNT_RATE_LIMITS)  # type: ignore[arg-type]
    settings.APP_RATE_LIMITS_ENABLED = True
    _clear_rate_limit_counters()
    yield
    _clear_rate_limit_counters()


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Run Celery tasks in-process at ``.delay()`` (for flows that must complete inside one test)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


from tests.fixtures_providers import catalog, fake_llm, fake_llm_server  # noqa: E402, F401  (fixtures)
from tests.fixtures_stream import stream_server  # noqa: E402, F401  (fixture)
from tests.fixtures_worker import live_worker, platform_doubles  # noqa: E402, F401  (fixtures)

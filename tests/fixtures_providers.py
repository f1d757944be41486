"""Provider fixtures: ``fake_llm`` (one loopback fake provider server per test session and xdist worker, reset
before and after every test; see ``tests/fakes/llm_server.py``) and ``catalog`` (the seeded global catalog)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.llm_server import FakeLlmServer


@pytest.fixture(scope="session")
def fake_llm_server() -> Iterator[FakeLlmServer]:
    server = FakeLlmServer().start()
    yield server
    server.stop()


@pytest.fixture
def fake_llm(fake_llm_server: FakeLlmServer) -> Iterator[FakeLlmServer]:
    fake_llm_server.reset()
    yield fake_llm_server
    fake_llm_server.reset()


@pytest.fixture
def catalog(db: None) -> Iterator[Any]:
    """The global catalog seeded from its data file (inside the test transaction); in-process caches cleared."""
    from shared_apps.catalog.selectors import model_traits_clear
    from shared_apps.catalog.services import catalog_seed
    from tenant_apps.providers.llm.factory import clear_client_cache

    model_traits_clear()
    clear_client_cache()
    report = catalog_seed()
    yield report
    model_traits_clear()
    clear_client_cache()

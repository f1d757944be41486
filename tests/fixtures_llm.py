"""The ``fake_llm`` fixture: one loopback fake provider server per test session (per xdist worker), reset before
and after every test. See ``tests/fakes/llm_server.py`` for what it speaks and how to script it."""

from __future__ import annotations

from collections.abc import Iterator

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

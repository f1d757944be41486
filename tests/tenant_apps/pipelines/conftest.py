from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tenant_apps.pipelines.engine.context import RunContext
from tenant_apps.pipelines.engine.executor import compile_graph
from tenant_apps.pipelines.engine.result import RunResult
from tenant_apps.pipelines.sandbox.runner import CodeRunner, SandboxLimits
from tests.fakes.scripted_chat_model import ModelDirectory, ScriptedChatModel

# A generous wall clock, so a busy shared machine cannot turn the CPU-limit test into a timeout.
TEST_LIMITS = SandboxLimits(cpu_seconds=1, memory_mb=160, wall_seconds=8.0, max_output_bytes=200_000)


@pytest.fixture(scope="session")
def code_runner() -> Iterator[CodeRunner]:
    """One sandbox zygote for the whole session, with tight limits so the limit tests are quick."""
    runner = CodeRunner(TEST_LIMITS)
    runner.start()
    yield runner
    runner.close()


@pytest.fixture
def model() -> ScriptedChatModel:
    return ScriptedChatModel()


@pytest.fixture
def run_graph(model: ScriptedChatModel, code_runner: CodeRunner):
    """``run_graph(document, input_text="hi", **context_fields) -> RunResult`` with the scripted model."""

    def run(document: dict[str, Any], input_text: str = "hi", **fields: Any) -> RunResult:
        fields.setdefault("models", ModelDirectory(model))
        fields.setdefault("code_runner", lambda: code_runner)
        return compile_graph(document).run(RunContext(input_text=input_text, **fields))

    return run

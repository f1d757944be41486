"""The ASGI stream server (config/asgi.py) as a real uvicorn process on the test settings: the same Redis database,
key prefix and signing key as the test process, so tokens it signs and events it publishes reach the server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
STREAMS_PER_PROCESS = 3  # small, so the bound can be reached in a test


@dataclass
class StreamServerProcess:
    port: int
    log: Path

    def url(self, token: str, suffix: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/stream/turn/{token}/{suffix}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def stream_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StreamServerProcess]:
    port = _free_port()
    log = tmp_path_factory.mktemp("stream") / "uvicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CHAT_STREAMS_PER_PROCESS": str(STREAMS_PER_PROCESS),
        "CHAT_STREAM_HEARTBEAT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port)]
    command += ["--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120  # a ceiling for a busy machine
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the stream server did not start:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    yield StreamServerProcess(port=port, log=log)
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


@dataclass
class SseEvent:
    event: str
    data: dict[str, Any]
    id: int | None = None


@dataclass
class SseReader:
    """Reads Server-Sent Events from an open ``httpx`` streaming response, one event at a time."""

    response: httpx.Response
    comments: int = 0
    _lines: Iterator[str] | None = field(default=None, repr=False)

    def next(self) -> SseEvent | None:
        if self._lines is None:
            self._lines = self.response.iter_lines()
        event, data, event_id = "message", "", None
        for line in self._lines:
            if line == "":
                if data:
                    return SseEvent(event=event, data=json.loads(data), id=event_id)
                continue
            if line.startswith(":"):
                self.comments += 1
            elif line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
            elif line.startswith("id: "):
                event_id = int(line[4:])
        return None

    def until(self, kind: str) -> list[SseEvent]:
        """Every event up to and including the first ``kind``."""
        events = []
        while (event := self.next()) is not None:
            events.append(event)
            if event.event == kind:
                return events
        raise AssertionError(f"the stream ended without {kind!r}: {events}")

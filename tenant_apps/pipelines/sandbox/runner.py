"""The parent side of the code sandbox: one zygote per process, requests framed over its stdin/stdout.

A Celery prefork child inherits nothing from its parent's zygote: the runner notes the pid that started the
zygote and starts a fresh one after a fork. Requests are serialised per process by a lock (a zygote runs one
child at a time); that matches the worker model (one task per process) and keeps the zygote trivial.
"""

from __future__ import annotations

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

from tenant_apps.pipelines.sandbox import zygote

logger = logging.getLogger(__name__)

ZYGOTE_SCRIPT = Path(zygote.__file__).resolve()
_SPARE_SECONDS = 5.0  # how long past the wall-clock limit we wait for the zygote itself before restarting it


def _configured(name: str) -> Any:
    return getattr(settings, name, None)


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 2
    memory_mb: int = 256
    wall_seconds: float = 5.0
    max_output_bytes: int = 1_000_000  # JSON of output + state + console
    # The user and group the child switches to (ADR 0062); None: it stays the worker's user (development only).
    uid: int | None = field(default_factory=lambda: _configured("PIPELINE_CODE_SANDBOX_UID"))
    gid: int | None = field(default_factory=lambda: _configured("PIPELINE_CODE_SANDBOX_GID"))


@dataclass(frozen=True)
class CodeRequest:
    code: str
    input: str
    participant_data: dict[str, Any] = field(default_factory=dict)
    session_state: dict[str, Any] = field(default_factory=dict)
    temp_state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CodeResult:
    ok: bool
    output: str = ""
    participant_data: dict[str, Any] = field(default_factory=dict)
    session_state: dict[str, Any] = field(default_factory=dict)
    temp_state: dict[str, Any] = field(default_factory=dict)
    end_session: bool = False
    message_tags: tuple[str, ...] = ()
    console: str = ""
    error_code: str = ""
    error_message: str = ""
    sandbox_uid: int | None = None  # the user the code ran as


class CodeRunner:
    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._owner_pid = 0

    def start(self) -> None:
        """Start the zygote now (e.g. in ``worker_process_init``) so the first run does not pay for it."""
        with self._lock:
            self._ensure()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def run(self, request: CodeRequest) -> CodeResult:
        payload = json.dumps(
            {
                "code": request.code,
                "input": request.input,
                "participant_data": request.participant_data,
                "session_state": request.session_state,
                "temp_state": request.temp_state,
                "limits": {
                    "cpu_seconds": self.limits.cpu_seconds,
                    "memory_mb": self.limits.memory_mb,
                    "wall_seconds": self.limits.wall_seconds,
                    "max_output_bytes": self.limits.max_output_bytes,
                    "uid": self.limits.uid,
                    "gid": self.limits.gid,
                },
            },
            default=str,
        ).encode()
        with self._lock:
            try:
                answer = self._exchange(payload)
            except (OSError, ValueError, TimeoutError) as exc:
                logger.warning("sandbox.failed", extra={"error": repr(exc)})
                self._stop()
                return CodeResult(
                    ok=False, error_code="pipeline.code_sandbox_failed", error_message="The sandbox failed."
                )
            except BaseException:
                self._stop()  # interrupted mid-exchange (the turn's time limit): its answer must not reach the next run
                raise
        uid = answer.get("uid")
        if not answer.get("ok"):
            return CodeResult(
                ok=False,
                console=str(answer.get("console", "")),
                error_code=str(answer.get("error_code", "pipeline.code_error")),
                error_message=str(answer.get("error_message", "")),
                sandbox_uid=uid,
            )
        return CodeResult(
            ok=True,
            output=str(answer["output"]),
            participant_data=answer["participant_data"],
            session_state=answer["session_state"],
            temp_state=answer["temp_state"],
            end_session=bool(answer["end_session"]),
            message_tags=tuple(answer["message_tags"]),
            console=str(answer.get("console", "")),
            sandbox_uid=uid,
        )

    def _exchange(self, payload: bytes) -> dict[str, Any]:
        process = self._ensure()
        stdin, stdout = process.stdin, process.stdout
        if stdin is None or stdout is None:
            raise OSError("the sandbox zygote has no pipes")
        zygote.write_frame(stdin, payload)
        deadline = time.monotonic() + self.limits.wall_seconds + _SPARE_SECONDS
        ready, _, _ = select.select([stdout], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise TimeoutError("the sandbox zygote did not answer")
        frame = zygote.read_frame(stdout)
        if frame is None:
            raise OSError("the sandbox zygote exited")
        answer: dict[str, Any] = json.loads(frame)
        return answer

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._process is not None and (self._owner_pid != os.getpid() or self._process.poll() is not None):
            self._process = None  # inherited across a fork, or dead: the pipes are not ours to use
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-I", str(ZYGOTE_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},  # no secrets, no settings, no DATABASE_URL
                cwd="/",
                close_fds=True,
                start_new_session=True,
            )
            self._owner_pid = os.getpid()
        return self._process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None or self._owner_pid != os.getpid():
            return
        process.kill()
        process.wait(timeout=5)
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


_default: CodeRunner | None = None
_default_lock = threading.Lock()


def default_code_runner() -> CodeRunner:
    """The process-wide runner, with limits from settings (``PIPELINE_CODE_*``) or the defaults above."""
    global _default
    with _default_lock:
        if _default is None:
            defaults = SandboxLimits()
            _default = CodeRunner(
                SandboxLimits(
                    cpu_seconds=getattr(settings, "PIPELINE_CODE_CPU_SECONDS", defaults.cpu_seconds),
                    memory_mb=getattr(settings, "PIPELINE_CODE_MEMORY_MB", defaults.memory_mb),
                    wall_seconds=getattr(settings, "PIPELINE_CODE_WALL_SECONDS", defaults.wall_seconds),
                    max_output_bytes=getattr(settings, "PIPELINE_CODE_MAX_OUTPUT_BYTES", defaults.max_output_bytes),
                )
            )
        return _default

"""The sandbox zygote: a small process that forks one limited child per code-node run (ADR 0031).

Run as a script by ``runner.CodeRunner`` (``python -I zygote.py``) with an empty environment, so it holds no
Django, no database connection and no secret. It imports RestrictedPython and the allowed modules once; each run
is then a ``fork()`` (about a millisecond) instead of a Python start (about 100 ms).

Per run, the child:
  * sets RLIMIT_CPU (killed by SIGXCPU), RLIMIT_AS (MemoryError), RLIMIT_FSIZE=0 (no file writes), RLIMIT_NOFILE
    (no new files or sockets), RLIMIT_NPROC (no new processes: a fork bomb ends at the first fork) and
    RLIMIT_CORE=0, then switches to the sandbox's own user and group when one is set, and refuses to run the code
    if that switch fails (ADR 0062);
  * runs the RestrictedPython-compiled code with safe builtins, guarded attribute/item access, and imports limited
    to public names of json, re, datetime, math, random and time;
  * writes one JSON result (output, final state copies, intents, console) to a pipe and exits.
The zygote enforces the wall-clock limit and the output cap (it kills the child), and answers the parent.

Protocol on stdin/stdout: frames of a 4-byte big-endian length followed by UTF-8 JSON.
This module must import nothing from the project: it runs outside Django.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import datetime
import json
import math
import operator
import os
import random
import re
import resource
import select
import signal
import struct
import sys
import time
import traceback
import types
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any

from RestrictedPython import compile_restricted, limited_builtins, safe_builtins, utility_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)

FILENAME = "<pipeline code>"
_HEADER = struct.Struct("!I")
MAX_FRAME = 64 * 1024 * 1024
MAX_CONSOLE = 64 * 1024
RESULT_FD = 3


# --- framing ----------------------------------------------------------------------------------------------------


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def read_frame(stream: IO[bytes]) -> bytes | None:
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ValueError("frame too large")
    return _read_exactly(stream, length)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# --- what the code may use --------------------------------------------------------------------------------------


def _public(module: types.ModuleType) -> types.SimpleNamespace:
    """A module's public, non-module attributes only (``json.codecs`` would otherwise reach ``codecs.open``)."""
    names = getattr(module, "__all__", None) or [name for name in dir(module) if not name.startswith("_")]
    return types.SimpleNamespace(
        **{
            name: getattr(module, name)
            for name in names
            if hasattr(module, name) and not isinstance(getattr(module, name), types.ModuleType)
        }
    )


ALLOWED_MODULES = {module.__name__: _public(module) for module in (json, re, datetime, math, random, time)}


def _guarded_import(
    name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
) -> types.SimpleNamespace:
    if level != 0 or name not in ALLOWED_MODULES:
        allowed = ", ".join(sorted(ALLOWED_MODULES))
        raise ImportError(f"import of {name!r} is not allowed (allowed: {allowed})")
    return ALLOWED_MODULES[name]


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    return _INPLACE[op](target, value)


def _builtins() -> dict[str, Any]:
    allowed: dict[str, Any] = {}
    allowed.update(safe_builtins)
    allowed.update(limited_builtins)
    allowed.update({key: value for key, value in utility_builtins.items() if not isinstance(value, types.ModuleType)})
    for name in (
        "dict", "list", "set", "frozenset", "tuple", "sorted", "reversed", "enumerate", "zip", "map", "filter",
        "min", "max", "sum", "any", "all", "abs", "round", "len", "isinstance", "str", "int", "float", "bool",
    ):  # fmt: skip
        allowed[name] = getattr(builtins, name)
    allowed["__import__"] = _guarded_import
    for unsafe in ("setattr", "delattr", "id"):  # no object mutation beyond dicts/lists; no address leaks
        allowed.pop(unsafe, None)
    return allowed


BUILTINS = _builtins()


class _Console:
    """Shared target of every ``print`` (RestrictedPython creates one collector per function otherwise)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def __call__(self, _getattr_: Any = None) -> _Console:
        return self

    def _call_print(self, *objects: Any, sep: str = " ", end: str = "\n", **_: Any) -> None:
        if self.size > MAX_CONSOLE:
            return
        text = sep.join(str(obj) for obj in objects) + end
        self.parts.append(text)
        self.size += len(text)

    def text(self) -> str:
        joined = "".join(self.parts)
        return joined[:MAX_CONSOLE] + ("\n[console output truncated]" if len(joined) > MAX_CONSOLE else "")


# --- compile (in the zygote, cached) ----------------------------------------------------------------------------

_compiled: OrderedDict[str, Any] = OrderedDict()


def compile_code(source: str) -> Any:
    """Compiled code or raise SyntaxError with every policy violation. Compiling never runs user code."""
    cached = _compiled.get(source)
    if cached is not None:
        _compiled.move_to_end(source)
        return cached
    code = compile_restricted(source, filename=FILENAME, mode="exec")
    _compiled[source] = code
    if len(_compiled) > 256:
        _compiled.popitem(last=False)
    return code


def syntax_messages(exc: SyntaxError) -> list[str]:
    """RestrictedPython raises SyntaxError(tuple of messages); plain syntax errors carry one message and a line."""
    first = exc.args[0] if exc.args else str(exc)
    if isinstance(first, tuple | list):
        return [str(message) for message in first]
    line = f"Line {exc.lineno}: " if exc.lineno else ""
    return [f"{line}{first}"]


def code_problems(source: str) -> list[str]:
    """Save-time check shared with the editor: policy violations, and ``main`` must be a top-level function.

    Never raises: pathological source (a 20,000-term expression, 5,000 nested minus signs) makes Python's own
    parser and compiler give up with RecursionError or MemoryError, which is a validation error like any other."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile_restricted(source, filename=FILENAME, mode="exec")
        tree = ast.parse(source)
    except SyntaxError as exc:
        return syntax_messages(exc)
    except (RecursionError, MemoryError):
        return ["The code is nested too deeply or is too long an expression to compile."]
    except (ValueError, OverflowError) as exc:  # e.g. a null byte, or a number literal over 4,300 digits
        return [f"The code cannot be compiled: {exc}"[:300]]
    mains = [node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "main"]
    if not mains:
        return ["Define a top-level function main(input, **kwargs)."]
    args = mains[0].args
    if not (args.posonlyargs or args.args):
        return ["main must take the input as its first argument: def main(input, **kwargs)."]
    return []


# --- the child --------------------------------------------------------------------------------------------------


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "error_message": message, **extra}


def _user_line(exc: BaseException) -> int | None:
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == FILENAME:
            line = frame.lineno
    return line


def execute(code: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Run ``main(input)`` with the helpers; return the result dict (never raises for user errors)."""
    state = {key: request.get(key) or {} for key in ("participant_data", "session_state", "temp_state")}
    intents: dict[str, Any] = {"end_session": False, "message_tags": []}

    def getter(scope: str) -> Callable[..., Any]:
        def get(key: str, default: Any = None) -> Any:
            return copy.deepcopy(state[scope].get(key, default))

        return get

    def setter(scope: str) -> Callable[[str, Any], None]:
        def set_(key: str, value: Any) -> None:
            if not isinstance(key, str) or not key:
                raise ValueError("keys are non-empty strings")
            state[scope][key] = copy.deepcopy(value)

        return set_

    def get_participant_data() -> dict[str, Any]:
        return copy.deepcopy(state["participant_data"])

    def set_participant_data(data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise ValueError("participant data is a dict")
        state["participant_data"] = copy.deepcopy(data)

    def end_session() -> None:
        intents["end_session"] = True

    def add_message_tag(tag: str) -> None:
        tag = str(tag).strip()[:100]
        if tag and tag not in intents["message_tags"]:
            intents["message_tags"].append(tag)

    console = _Console()
    env: dict[str, Any] = {
        "__builtins__": BUILTINS,
        "__name__": "pipeline_code",
        "__metaclass__": type,
        "_getattr_": safer_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": full_write_guard,
        "_inplacevar_": _inplacevar,
        "_print_": console,
        "_apply_": lambda func, *args, **kwargs: func(*args, **kwargs),
        "get_participant_data": get_participant_data,
        "set_participant_data": set_participant_data,
        "get_participant_data_key": getter("participant_data"),
        "set_participant_data_key": setter("participant_data"),
        "get_session_state_key": getter("session_state"),
        "set_session_state_key": setter("session_state"),
        "get_temp_state_key": getter("temp_state"),
        "set_temp_state_key": setter("temp_state"),
        "end_session": end_session,
        "add_message_tag": add_message_tag,
    }
    try:
        exec(code, env)  # noqa: S102  (RestrictedPython bytecode, in a limited child process)
        main = env.get("main")
        if not callable(main):
            return _error("pipeline.code_no_main", "The code does not define main(input, **kwargs).")
        output = main(request.get("input", ""))
    except MemoryError:
        return _error("pipeline.code_memory_limit", "The code used more memory than allowed.")
    except RecursionError:
        return _error("pipeline.code_error", "RecursionError: maximum recursion depth exceeded.")
    except Exception as exc:
        line = _user_line(exc)
        where = f" (line {line})" if line else ""
        message = f"{type(exc).__name__}: {exc}{where}"[:2000]
        return _error("pipeline.code_error", message, console=console.text())
    if output is None:
        output = ""
    elif not isinstance(output, str):
        try:
            output = json.dumps(output, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError):
            return _error(
                "pipeline.code_bad_output", "main must return text or JSON-compatible data (no NaN or Infinity)."
            )
    return {"ok": True, "output": output, **state, **intents, "console": console.text()}


class SandboxUserError(Exception):
    """The child could not become the sandbox's user: it must not run the code."""


def _limit_child(limits: dict[str, Any]) -> None:
    cpu = max(1, int(limits["cpu_seconds"]))
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (RESULT_FD + 1, RESULT_FD + 1))
    # Counted per user: the child itself already counts, so fork() fails (EAGAIN) whatever user it runs as. Root
    # ignores RLIMIT_NPROC, which is one more reason never to run the code as root.
    resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
    uid, gid = limits.get("uid"), limits.get("gid")
    if uid is None or gid is None:
        return  # development without a sandbox user: the worker's own user (ADR 0062 says what still holds)
    try:
        if os.getgid() != gid or os.getgroups():
            os.setgroups([])
            os.setgid(gid)
        if os.getuid() != uid:
            os.setuid(uid)
    except OSError as exc:
        raise SandboxUserError(f"cannot switch to uid {uid} / gid {gid}: {exc.strerror}") from exc
    if (os.getuid(), os.geteuid(), os.getgid(), os.getegid()) != (uid, uid, gid, gid):
        raise SandboxUserError(f"still running as uid {os.geteuid()}")


def _child(write_fd: int, code: Any, request: dict[str, Any]) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if write_fd != RESULT_FD:
        os.dup2(write_fd, RESULT_FD)
    os.closerange(RESULT_FD + 1, 1 << 16)
    os.chdir("/")
    try:
        _limit_child(request["limits"])
    except SandboxUserError as exc:
        _write_result(json.dumps(_error("pipeline.code_sandbox_failed", f"The sandbox {exc}.")).encode())
        return
    try:
        result = execute(code, request)
        result["uid"] = os.getuid()  # the parent reports it (ADR 0062: never the worker's when it is root)
        try:
            # Strict JSON: NaN and Infinity would reach PostgreSQL, which refuses them (ADR 0061).
            payload = json.dumps(result, ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError):
            payload = json.dumps(
                _error(
                    "pipeline.code_bad_state",
                    "State values must be JSON-compatible (text, numbers, lists, dicts; no NaN or Infinity).",
                )
            ).encode()
        if len(payload) > int(request["limits"]["max_output_bytes"]):
            payload = json.dumps(
                _error("pipeline.code_output_too_large", "The code's output and state are larger than allowed.")
            ).encode()
    except MemoryError:
        payload = b'{"ok": false, "error_code": "pipeline.code_memory_limit", "error_message": "Out of memory."}'
    _write_result(payload)


def _write_result(payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(RESULT_FD, view)
        view = view[written:]


# --- the zygote -------------------------------------------------------------------------------------------------


def run_one(request: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    limits = request["limits"]
    try:
        code = compile_code(request["code"])
    except SyntaxError as exc:
        return _error("pipeline.code_syntax", "; ".join(syntax_messages(exc))[:2000])
    except (ValueError, RecursionError, MemoryError) as exc:
        return _error("pipeline.code_syntax", f"The code could not be compiled: {type(exc).__name__}.")

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(read_fd)
            _child(write_fd, code, request)
        finally:
            os._exit(0)
    os.close(write_fd)
    try:
        data, reason = _collect(pid, read_fd, started, limits)
    finally:
        os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if reason == "timeout":
        return _error("pipeline.code_timeout", f"The code ran longer than {limits['wall_seconds']} seconds.")
    if reason == "too_large":
        return _error("pipeline.code_output_too_large", "The code's output and state are larger than allowed.")
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        if sig in (signal.SIGXCPU, signal.SIGKILL):
            return _error("pipeline.code_cpu_limit", f"The code used more than {limits['cpu_seconds']} s of CPU time.")
        return _error("pipeline.code_crashed", f"The code's process ended with signal {sig}.")
    try:
        return (
            json.loads(data) if data else _error("pipeline.code_crashed", "The code's process ended without a result.")
        )
    except ValueError:
        return _error("pipeline.code_crashed", "The code's process returned garbage.")


def _collect(pid: int, fd: int, started: float, limits: dict[str, Any]) -> tuple[bytes, str | None]:
    deadline = started + float(limits["wall_seconds"])
    cap = int(limits["max_output_bytes"]) + 1024
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            _kill(pid)
            return b"", "timeout"
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), None
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            _kill(pid)
            return b"", "too_large"


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop (EOF on stdin)
    warnings.simplefilter("ignore")  # RestrictedPython's compile warnings are not the participant's concern
    while True:
        frame = read_frame(stdin)
        if frame is None:
            return
        try:
            response = run_one(json.loads(frame))
        except Exception as exc:  # a zygote bug: answer, and stay up for the next run
            response = _error("pipeline.code_sandbox_failed", f"Sandbox error: {type(exc).__name__}: {exc}")
        write_frame(stdout, json.dumps(response).encode())


if __name__ == "__main__":
    protocol_in, protocol_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but frames may reach the protocol stream
    serve(protocol_in, protocol_out)

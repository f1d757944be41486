"""The fake provider server also runs on its own (for benchmarks and manual tries), scripted over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openai

ROOT = Path(__file__).resolve().parents[2]


def _post(url: str, payload: object) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=5).read()


def test_standalone_fake_server_is_scriptable_over_http():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.llm_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/v1/models", timeout=0.5).read()
                break
            except OSError:
                time.sleep(0.05)
        _post(f"{base}/_fake/reset", {})
        _post(f"{base}/_fake/script", [{"text": "scripted reply"}])
        client = openai.OpenAI(api_key="k", base_url=f"{base}/v1", max_retries=0)

        first = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        second = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "again"}])
        recorded = json.loads(urllib.request.urlopen(f"{base}/_fake/requests", timeout=5).read())
    finally:
        server.terminate()
        server.wait(timeout=10)

    assert first.choices[0].message.content == "scripted reply"
    assert second.choices[0].message.content == "Echo: again"
    assert [r["path"] for r in recorded][-2:] == ["/v1/chat/completions", "/v1/chat/completions"]

"""Overhead of our LLM layer over a raw SDK call (target: < 1 ms per call).

Three measurements, written to their section of bench/RESULTS.md (replaced on re-run):
1. Over HTTP: the official SDK against the loopback fake (run as its own process), raw ``create()`` vs our
   ``ChatModel.chat()`` on the same client, alternating blocks; the difference of medians is the overhead.
2. In process, no network: our ``chat()`` against a client whose ``create()`` returns a pre-parsed reply, i.e.
   exactly the work we add (request building, result parsing, retry wrapper), per call.
3. The same for Anthropic.

    .venv/bin/python bench/llm_overhead.py [--calls 400]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

import anthropic  # noqa: E402
import openai  # noqa: E402

from tenant_apps.providers.llm.clients import AnthropicChatModel, OpenAIChatModel  # noqa: E402
from tenant_apps.providers.llm.types import Message  # noqa: E402

MESSAGES = [
    Message(role="system", content="You are a helpful assistant for a bakery."),
    Message(role="user", content="Do you have gluten-free bread?"),
    Message(role="assistant", content="Yes, on Tuesdays and Fridays."),
    Message(role="user", content="What time do you open on Friday?"),
]
RAW_MESSAGES = [{"role": m.role, "content": m.content} for m in MESSAGES]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def alternate(a, b, calls: int, block: int = 25) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for _ in range(max(1, calls // block)):
        xs += timed(a, block)
        ys += timed(b, block)
    return xs, ys


class Canned:
    """Stands in for ``client.messages`` (``create``) and an OpenAI client (``post``, which our layer calls):
    returns one reply as the client would."""

    def __init__(self, reply):
        self.reply = reply

    def create(self, **kwargs):
        return self.reply

    def post(self, path, **kwargs):
        return self.reply


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.llm_server", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=0.5).read()
                break
            except OSError:
                time.sleep(0.05)
        lines = run(port, args.calls)
    finally:
        server.terminate()
        server.wait(timeout=10)
    report = "\n".join(lines)
    print(report)
    write_section(ROOT / "bench" / "RESULTS.md", report)


def write_section(path: Path, report: str) -> None:
    """Replace this script's section of RESULTS.md (the text up to the next "## " heading), or append it."""
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    heading = "## LLM layer overhead"
    start = text.find(heading)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + report + "\n"
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + report + "\n" + (text[end:] if end != -1 else "")
    path.write_text(text)


def row(label: str, raw: list[float], ours: list[float]) -> str:
    med = statistics.median
    return f"| {label} | {med(raw):.3f} | {med(ours):.3f} | {med(ours) - med(raw):+.3f} |"


def per_call_us(model: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        model.chat(messages=MESSAGES)  # type: ignore[attr-defined]
    return (time.perf_counter() - start) / n * 1e6


def run(port: int, calls: int) -> list[str]:
    oa = openai.OpenAI(api_key="k", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    ours = OpenAIChatModel(client=oa, model="fake-model", provider_type="openai")

    def raw() -> object:
        return oa.chat.completions.create(model="fake-model", messages=RAW_MESSAGES)

    def layer() -> object:
        return ours.chat(messages=MESSAGES)

    timed(raw, 30)
    timed(layer, 30)  # warm up
    raw_ms, ours_ms = alternate(raw, layer, calls)

    an = anthropic.Anthropic(api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0)
    ours_an = AnthropicChatModel(client=an, model="claude-fake", provider_type="anthropic")

    def raw_an() -> object:
        return an.messages.create(
            model="claude-fake", max_tokens=256, system=MESSAGES[0].content, messages=RAW_MESSAGES[1:]
        )

    def layer_an() -> object:
        return ours_an.chat(messages=MESSAGES)

    timed(raw_an, 30)
    timed(layer_an, 30)
    raw_an_ms, ours_an_ms = alternate(raw_an, layer_an, calls)

    # In process: our work alone, on a reply already decoded (the OpenAI client hands us the JSON; Anthropic's
    # SDK its parsed message).
    completion = oa.chat.completions.create(model="fake-model", messages=RAW_MESSAGES).model_dump()
    stub_oa = Canned(completion)
    message = an.messages.create(model="claude-fake", max_tokens=256, messages=RAW_MESSAGES[1:])
    stub_an = type("A", (), {"messages": Canned(message)})()
    layer_us = per_call_us(OpenAIChatModel(client=stub_oa, model="fake-model", provider_type="openai"), calls * 10)
    layer_an_us = per_call_us(
        AnthropicChatModel(client=stub_an, model="claude-fake", provider_type="anthropic"), calls * 10
    )

    cpu = platform.processor() or platform.machine()
    machine = f"{platform.node()} · {cpu} · {os.cpu_count()} CPUs · Python {platform.python_version()}"
    return [
        f"## LLM layer overhead — {dt.date.today().isoformat()}",
        "",
        f"Machine: {machine}; openai {openai.__version__}, anthropic {anthropic.__version__}; "
        f"{calls} calls per side, alternating blocks of 25; fake server in its own process (`bench/llm_overhead.py`).",
        "",
        "| path | raw SDK median (ms) | our layer median (ms) | difference (ms) |",
        "|---|---|---|---|",
        row("OpenAI chat over loopback HTTP", raw_ms, ours_ms),
        row("Anthropic messages over loopback HTTP", raw_an_ms, ours_an_ms),
        "",
        f"Our work alone per call (request building + result parsing + retry wrapper, SDK call stubbed): "
        f"OpenAI **{layer_us:.1f} µs**, Anthropic **{layer_an_us:.1f} µs** (target < 1000 µs).",
    ]


if __name__ == "__main__":
    main()

"""The stream server's overhead (ADR 0095): N browsers each watch one turn over SSE on ONE uvicorn process while the
worker's publisher (turn_stream.TurnPublisher) streams every turn's tokens; reports publish→client latency per token
(p50/p95/max), the server's RSS and CPU. Needs Redis (REDIS_URL; no database).

    .venv/bin/python bench/stream_server.py --streams 200 --streams 1000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
os.environ["CHAT_STREAMS_PER_PROCESS"] = "5000"
django.setup()

import httpx  # noqa: E402

from tenant_apps.conversations import streams  # noqa: E402
from tenant_apps.conversations.turn_stream import TurnPublisher  # noqa: E402

HOST = "bench.localhost"
TOKENS, SECONDS = 40, 1.0  # the realistic profile: 40 tokens over 1 s


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _watch(
    client: httpx.AsyncClient, url: str, arrivals: list[float], ready: asyncio.Event, opened: list
) -> None:
    async with client.stream("GET", url, headers={"Host": HOST}) as response:
        opened.append(1)
        async for line in response.aiter_lines():
            if line.startswith("event: token"):
                arrivals.append(time.perf_counter())
            elif line.startswith("event: done"):
                return


def run(n: int, port: int, pid: int, base_id: int) -> dict[str, float]:
    ids = [base_id + i for i in range(n)]
    sent: dict[int, list[float]] = {i: [] for i in ids}
    arrivals: dict[int, list[float]] = {i: [] for i in ids}

    async def clients() -> None:
        opened: list[int] = []
        limits = httpx.Limits(max_connections=n + 10)
        async with httpx.AsyncClient(timeout=120, limits=limits) as client:
            tasks = []
            for i in ids:
                token = streams.grant_sign(streams.StreamGrant(schema="t_bench", message_id=i, host=HOST))
                url = f"http://127.0.0.1:{port}/stream/turn/{token}/"
                tasks.append(asyncio.create_task(_watch(client, url, arrivals[i], asyncio.Event(), opened)))
            while len(opened) < n:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            start_publishing.set()
            await asyncio.gather(*tasks)

    start_publishing = threading.Event()

    def publish() -> None:
        start_publishing.wait()
        publishers = {i: TurnPublisher(schema="t_bench", message_id=i) for i in ids}
        gap = SECONDS / TOKENS
        for step in range(TOKENS):
            tick = time.perf_counter()
            for i, publisher in publishers.items():
                publisher.write(f" w{step}")
                publisher.flush()  # one flush per token: every token is measured
                sent[i].append(time.perf_counter())
            time.sleep(max(0.0, gap - (time.perf_counter() - tick)))
        for i, publisher in publishers.items():
            publisher.done(reply_id=i, ok=True, text="done")

    cpu0 = _cpu_seconds(pid)
    thread = threading.Thread(target=publish)
    thread.start()
    started = time.perf_counter()
    asyncio.run(clients())
    thread.join()
    wall = time.perf_counter() - started
    cpu = _cpu_seconds(pid) - cpu0
    lat = [(a - s) * 1000 for i in ids for s, a in zip(sent[i], arrivals[i], strict=False)]
    lat.sort()
    return {
        "streams": n,
        "tokens": len(lat),
        "p50_ms": statistics.median(lat),
        "p95_ms": lat[int(len(lat) * 0.95)],
        "max_ms": lat[-1],
        "server_cpu_s": cpu,
        "server_cpu_ms_per_stream": cpu * 1000 / n,
        "rss_mb": _rss_mb(pid),
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", type=int, action="append")
    args = parser.parse_args()
    port = _port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ},
    )
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        print(f"idle RSS {_rss_mb(server.pid):.0f} MB; load average {os.getloadavg()[0]:.2f}")
        for k, n in enumerate(args.streams or [200]):
            result = run(n, port, server.pid, base_id=10**9 + k * 100_000)
            print(
                " ".join(
                    f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}"
                    for key, value in result.items()
                )
            )
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()

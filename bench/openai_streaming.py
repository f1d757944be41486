"""The OpenAI-compatible endpoint, streaming, at a realistic model profile (issue 14, ADR 0111): gunicorn (gthread,
1 worker x 32 threads, as bench/turns.py) + the gevent chat worker + PostgreSQL + Redis, the fake LLM streaming
(first token 0.5 s, 40 tokens over 1 s), and N concurrent clients using the official ``openai`` client
(``AsyncOpenAI``, ``stream=True``), each sending its next turn when the last one ends.

Per level: turns/s; first-token overhead = client time to the first content chunk - the model's first token;
full-turn overhead = time to ``[DONE]`` - the model's whole answer; errors.

    BENCH_REDIS_SERVER=redis://127.0.0.1:6395 .venv/bin/python bench/openai_streaming.py [--levels 10,300] \
        [--duration 15] [--write]

Throwaway database ``bench_openai``, Redis db 12.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.turns import CELERY, CELERY_ARGS, GUNICORN, REDIS, SERVER, Stack, free_port, psql, reset  # noqa: E402

DB = "bench_openai"
ENV = {
    "PYTHONUNBUFFERED": "1",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DATABASE_URL": f"{SERVER}/{DB}",
    "REDIS_URL": f"{REDIS}/12",
    "CACHE_KEY_PREFIX": "benchopenai",
    "LOCAL_LLM": "0",
    "LOCAL_LLM_MODEL": "fake-model",
    "CHAT_TEAM_CONCURRENCY": "5000",
    "RATE_LIMITS_ENABLED": "false",
    "DB_CONN_HEALTH_CHECKS": "false",
}


class Level:
    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.ttft: list[float] = []
        self.total: list[float] = []
        self.errors = 0
        self.turns = 0


async def run_level(level: Level, base_url: str, host: str, key: str, args: argparse.Namespace) -> None:
    import httpx
    from openai import AsyncOpenAI

    http = httpx.AsyncClient(headers={"Host": host}, timeout=120, limits=httpx.Limits(max_connections=2000))
    client = AsyncOpenAI(api_key=key, base_url=base_url, http_client=http, max_retries=0)
    stop_at = time.perf_counter() + args.duration

    async def loop(index: int) -> None:
        n = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            first = None
            try:
                stream = await client.chat.completions.create(
                    model="x", messages=[{"role": "user", "content": f"hello {index} {n}"}], stream=True
                )
                async for chunk in stream:
                    if first is None and chunk.choices and chunk.choices[0].delta.content:
                        first = time.perf_counter()
            except Exception:  # counted; the run goes on
                level.errors += 1
                await asyncio.sleep(0.5)
                continue
            n += 1
            done = time.perf_counter()
            if done <= stop_at and first is not None:
                level.turns += 1
                level.ttft.append(first - started - args.first_token)
                level.total.append(done - started - args.first_token - args.seconds)

    await asyncio.gather(*(loop(i) for i in range(level.clients)))
    await http.aclose()


def pct(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="10,300")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--first-token", type=float, default=0.5)
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    import httpx

    port, llm_port = free_port(), free_port()
    reset(DB, ENV["REDIS_URL"], create=True)
    stack = Stack({**ENV, "SITE_PORT": str(port), "LOCAL_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1"})
    rows = []
    try:
        stack.start("fake-llm", sys.executable, "-m", "tests.fakes.llm_server", "--port", str(llm_port), "--no-record")
        stack.run(sys.executable, "manage.py", "migrate_teams", "-v", "0")
        stack.run(sys.executable, "manage.py", "setup_demo")
        ((schema,),) = psql("SELECT schema_name FROM tenants_team WHERE slug = 'demo'", DB)
        ((chatbot_id,),) = psql(
            f'SELECT id FROM "{schema}".chatbots_chatbot WHERE published_version_id IS NOT NULL ORDER BY id LIMIT 1', DB
        )
        key = subprocess.run(
            [sys.executable, "manage.py", "create_api_key", "--team", "demo", "--name", "bench"],
            cwd=ROOT, env=stack.env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        stack.start("web", *GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}")
        stack.start("chat", *CELERY, "config", *CELERY_ARGS, "-n", "chat@%h", "-Q", "chat", "-P", "gevent",
                    "--concurrency", "1000")  # fmt: skip
        host = f"demo.localhost:{port}"
        stack.wait_http(f"http://127.0.0.1:{port}/healthz", host)
        profile = {"first_token": args.first_token, "tokens": args.tokens, "seconds": args.seconds}
        httpx.post(f"http://127.0.0.1:{llm_port}/_fake/config", json={"profile": profile, "record": False})
        base_url = f"http://127.0.0.1:{port}/api/openai/{chatbot_id}"
        asyncio.run(run_level(Level(2), base_url, host, key, argparse.Namespace(**{**vars(args), "duration": 3.0})))
        for spec in args.levels.split(","):
            level = Level(int(spec))
            asyncio.run(run_level(level, base_url, host, key, args))
            row = (
                f"| {level.clients} | {level.turns / args.duration:.1f} | {pct(level.ttft, 50):.0f} | "
                f"{pct(level.ttft, 95):.0f} | {pct(level.total, 50):.0f} | {pct(level.total, 95):.0f} | "
                f"{level.errors} |"
            )
            print(row, flush=True)
            rows.append(row)
    finally:
        stack.stop()
        reset(DB, ENV["REDIS_URL"], create=False)
    fsync = psql("SHOW fsync")[0][0]
    sync = psql("SHOW synchronous_commit")[0][0]
    section = "\n".join(
        [
            f"## OpenAI-compatible streaming (bench/openai_streaming.py, {date.today().isoformat()})",
            "",
            f"Machine: {platform.node()} ({platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
            f"shared with other work), PostgreSQL fsync={fsync}, synchronous_commit={sync}. Model profile: first "
            f"token {args.first_token} s, {args.tokens} tokens over {args.seconds} s. Web: gunicorn gthread 1 × 32 "
            f"threads (an open stream holds a thread: ADR 0111); chat worker gevent 1000. {args.duration:.0f} s per "
            "level, official `openai` AsyncOpenAI clients, stream=True, each sends its next turn at [DONE].",
            "",
            "| clients | turns/s | first-token overhead p50 ms | p95 ms | full-turn overhead p50 ms | p95 ms "
            "| errors |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    print(section)
    if args.write:
        results = ROOT / "bench" / "RESULTS.md"
        results.write_text(results.read_text().rstrip() + "\n\n" + section)


if __name__ == "__main__":
    main()

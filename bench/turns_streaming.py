"""Streaming turns at real model latency (issue 11, ADR 0090): gunicorn (the send) + the gevent chat worker with its
connection pool + PostgreSQL + Redis, the fake LLM streaming with a realistic profile, and streaming clients.

Each conversation is a visitor on the public link: it POSTs its message to the send URL (which answers at once
with the message's id) and watches the turn's Redis channel (ADR 0090 §4) for the first ``token`` event and the
``done`` event; it sends its next message as soon as the reply is done, and starts a new session every
``--turns-per-session`` turns. The browser's ASGI stream server (built by another change) forwards the same
events; until it is in, the client reads the channel itself — one pattern subscription for the whole load
generator, events timestamped on arrival.

Per level: turns/s; first-token overhead = client time to first token - the model's (the send, the queue, the
worker's claim and load, the provider connection, the publish); full-turn overhead = client time to ``done`` -
the model's whole answer; CPU ms per turn of web / chat worker / PostgreSQL / Redis (utime + stime from /proc;
the fake LLM and the load generator are shown apart); PostgreSQL connections of the bench database (sampled every
0.25 s: peak, and peak of those not idle); RSS of web + chat worker (idle before the first level, peak during
each).

    .venv/bin/python bench/turns_streaming.py [--levels 0:10,10,100,300,1000] [--duration 20] [--write]

A level ``0:N`` runs with a zero-latency model (the echo at once, still streamed), ``N`` with the profile
(``--first-token 0.5 --tokens 40 --seconds 1``). Throwaway database ``bench_streaming``, Redis db 13.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import shlex
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.turns import (  # noqa: E402
    CELERY,
    CELERY_ARGS,
    CSRF,
    GUNICORN,
    REDIS,
    SERVER,
    TICK_MS,
    Stack,
    free_port,
    psql,
    reset,
    revision,
    send_path,
    session_send_path,
)

DB = "bench_streaming"
ENV = {
    "PYTHONUNBUFFERED": "1",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DATABASE_URL": f"{SERVER}/{DB}",
    "REDIS_URL": f"{REDIS}/13",
    "CACHE_KEY_PREFIX": "benchstream",
    "LOCAL_LLM": "0",
    "LOCAL_LLM_MODEL": "fake-model",
    "CHAT_TEAM_CONCURRENCY": "5000",  # one team here: fair share is not what this measures
    "DB_CONN_HEALTH_CHECKS": "false",
    "RATE_LIMITS_ENABLED": "false",  # every visitor here comes from one address; abuse limits are not measured
}
COMPONENTS = ("web", "chat", "postgres", "redis")
PG_BACKEND = re.compile(r"^postgres: (?:\S+: )?\S+ (\S+) ")


# ------------------------------------------------------------------------------------------------ measurements


def proc_table() -> dict[int, tuple[int, str, int, int]]:
    """pid -> (ppid, comm, cpu ticks, rss kB)."""
    table = {}
    page_kb = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
            table[int(entry.name)] = (
                int(fields[1]),
                comm,
                int(fields[11]) + int(fields[12]),
                int(fields[21]) * page_kb,
            )
    return table


def tree(table: dict[int, tuple[int, str, int, int]], root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo += [child for child, row in table.items() if row[0] == pid]
    return [pid for pid in pids if pid in table]


def pg_pids(db: str) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                if cmdline.startswith("postgres"):
                    backend = PG_BACKEND.match(cmdline)
                    if backend is None or backend.group(1) == db:
                        pids.append(int(entry.name))
    return pids


def snapshot(roots: dict[str, int]) -> dict[str, float]:
    """CPU ms so far per component (process trees; PostgreSQL without other databases' backends; redis-server)."""
    table = proc_table()
    out = {name: sum(table[pid][2] for pid in tree(table, root)) * TICK_MS for name, root in roots.items()}
    out["loadgen"] = table[os.getpid()][2] * TICK_MS  # this process alone (the stack's processes are its children)
    out["postgres"] = sum(table[pid][2] for pid in pg_pids(DB) if pid in table) * TICK_MS
    out["redis"] = sum(row[2] for row in table.values() if row[1] == "redis-server") * TICK_MS
    cpu = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    out["machine"] = (sum(cpu) - cpu[3] - cpu[4]) * TICK_MS
    return out


def sched(roots: dict[str, int]) -> dict[str, tuple[float, float]]:
    """Per process tree: (seconds on a CPU, seconds runnable but waiting for one) so far, from /proc/*/schedstat.
    The second says how much the machine's other work (other engineers' test runs) held a process back."""
    table, out = proc_table(), {}
    for name, root in roots.items():
        on = wait = 0
        for pid in tree(table, root):
            with contextlib.suppress(OSError, ValueError):
                fields = Path(f"/proc/{pid}/schedstat").read_text().split()
                on, wait = on + int(fields[0]), wait + int(fields[1])
        out[name] = (on / 1e9, wait / 1e9)
    return out


def rss_mb(roots: dict[str, int]) -> float:
    table = proc_table()
    return sum(table[pid][3] for name in ("web", "chat") for pid in tree(table, roots[name])) / 1024


class Sampler:
    """PostgreSQL connections to the bench database and web + chat worker RSS, every 0.25 s."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots, self.stop = roots, threading.Event()
        self.connections = self.busy = 0
        self.rss = 0.0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        import psycopg

        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            while not self.stop.is_set():
                total, busy = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity WHERE datname = %s",
                    [DB],
                ).fetchone()  # type: ignore[misc]
                self.connections, self.busy = max(self.connections, total), max(self.busy, busy)
                self.rss = max(self.rss, rss_mb(self.roots))
                time.sleep(0.25)

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)


# ----------------------------------------------------------------------------------------------------- the load


@dataclass
class Turn:
    first_token: float | None = None
    done: float | None = None
    ok: bool = False
    event: asyncio.Event = field(default_factory=asyncio.Event)


class Listener:
    """One pattern subscription to every turn channel of the team: events timestamped as they arrive."""

    def __init__(self, redis_url: str, pattern: str) -> None:
        self.redis_url, self.pattern = redis_url, pattern
        self.turns: dict[int, Turn] = {}
        self.messages = 0

    def turn(self, message_id: int) -> Turn:
        found = self.turns.get(message_id)
        if found is None:
            found = self.turns[message_id] = Turn()
        return found

    async def run(self, ready: asyncio.Event) -> None:
        import json

        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.redis_url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.psubscribe(self.pattern)
        ready.set()
        async for message in pubsub.listen():
            if message["type"] != "pmessage":
                continue
            now = time.perf_counter()
            self.messages += 1
            turn = self.turn(int(message["channel"].rsplit(b":", 1)[1]))
            event = json.loads(message["data"])
            if event["t"] == "token" and turn.first_token is None:
                turn.first_token = now
            elif event["t"] == "done":
                turn.done, turn.ok = now, bool(event["ok"])
                turn.event.set()


@dataclass
class Level:
    conversations: int
    model_first: float
    model_total: float
    wall: float = 0.0
    errors: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # why: exception name, "not ok", "no token"
    ttft: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    connections: int = 0
    busy_connections: int = 0
    rss: float = 0.0
    waited: dict[str, float] = field(default_factory=dict)  # share of the level each process spent runnable, waiting
    queue: list[float] = field(default_factory=list)  # server side: message stored -> claimed by the worker
    work: list[float] = field(default_factory=list)  # claimed -> reply stored

    @property
    def turns(self) -> int:
        return len(self.total)

    def per_turn(self, name: str) -> float:
        return self.cpu.get(name, 0.0) / max(self.turns, 1)


class Conversation:
    def __init__(self, port: int, host: str, public_id: str, per_session: int) -> None:
        import httpx

        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Host": host}, timeout=60, follow_redirects=True
        )
        self.page, self.per_session, self.turns = f"/c/{public_id}/", per_session, 0

    async def open(self, query: str = "") -> None:
        page = await self.http.get(self.page + query)
        page.raise_for_status()
        self.send = send_path(page.text, wait=False)  # no ?wait: the answer comes at once, the reply by Redis
        self.http.headers.update({"X-CSRFToken": CSRF.search(page.text).group(1), "HX-Request": "true"})  # type: ignore[union-attr]

    async def turn(self, listener: Listener, text: str) -> tuple[float, Turn]:
        if self.per_session and self.turns and self.turns % self.per_session == 0:
            await self.open("?new=1")
        self.turns += 1
        started = time.perf_counter()
        sent = await self.http.post(self.send, data={"message": text})
        self.send = session_send_path(sent.headers, self.send, wait=False)
        # The last pending bubble is this message's (a visit's first send also carries the greeting's turn).
        pending = ([*re.finditer(r'id="pending-(\d+)"', sent.text)] or [None])[-1]
        if pending is None:
            raise RuntimeError(f"no pending bubble in the send's answer: {sent.status_code} {sent.text[:300]}")
        turn = listener.turn(int(pending.group(1)))
        await asyncio.wait_for(turn.event.wait(), 120)
        return started, turn


async def run_level(level: Level, args: argparse.Namespace, stack: dict[str, Any]) -> None:
    listener: Listener = stack["listener"]
    chats = [
        Conversation(stack["port"], stack["host"], stack["public_id"], args.turns_per_session)
        for _ in range(level.conversations)
    ]
    semaphore = asyncio.Semaphore(50)  # open pages 50 at a time

    async def open_one(chat: Conversation) -> None:
        async with semaphore:
            try:
                await chat.open()
                await chat.turn(listener, "warm up")  # one warm-up turn each
            except Exception as exc:  # counted; the conversation still runs its turns
                why = f"warm-up {type(exc).__name__}"
                level.failed[why] = level.failed.get(why, 0) + 1

    await asyncio.gather(*(open_one(chat) for chat in chats))
    roots = stack["roots"]
    stop_at = time.perf_counter() + args.duration  # turns done by then count; CPU is measured up to then

    async def loop(index: int, chat: Conversation) -> None:
        n = 0
        if not hasattr(chat, "send"):
            return  # its page never opened (counted above)
        while time.perf_counter() < stop_at:
            try:
                started, turn = await chat.turn(listener, f"hello {index} {n}")
            except Exception as exc:  # counted; the run goes on
                level.errors += 1
                level.failed[type(exc).__name__] = level.failed.get(type(exc).__name__, 0) + 1
                continue
            n += 1
            why = "not ok" if not turn.ok or turn.done is None else "no token" if turn.first_token is None else ""
            if why:
                level.errors += 1
                level.failed[why] = level.failed.get(why, 0) + 1
                continue
            if turn.done <= stop_at:
                level.ttft.append(turn.first_token - started - level.model_first)
                level.total.append(turn.done - started - level.model_total)

    measured: dict[str, Any] = {}

    async def at_the_end() -> None:  # CPU and waits over exactly the measured window
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        measured.update(after=snapshot(roots), sched=sched(roots))

    with Sampler(roots) as sampler:
        before, wall_start, sched_before = snapshot(roots), time.time(), sched(roots)
        ender = asyncio.create_task(at_the_end())
        await asyncio.gather(*(loop(i, chat) for i, chat in enumerate(chats)))
        await ender
        after, sched_after = measured["after"], measured["sched"]
    level.cpu = {name: after[name] - before[name] for name in after}
    level.waited = {name: (sched_after[name][1] - sched_before[name][1]) / args.duration for name in ("web", "chat")}
    table = f'"{stack["schema"]}".conversations_chatmessage'
    for queued, worked in psql(
        f"SELECT EXTRACT(EPOCH FROM m.turn_started_at - m.created_at), EXTRACT(EPOCH FROM r.created_at - "
        f"m.turn_started_at) FROM {table} m JOIN {table} r ON r.reply_to_id = m.id WHERE m.role = 'user' AND "
        f"m.created_at BETWEEN to_timestamp({wall_start}) AND to_timestamp({wall_start + args.duration})",
        DB,
    ):
        level.queue.append(float(queued))
        level.work.append(float(worked))
    level.connections, level.busy_connections, level.rss = sampler.connections, sampler.busy, sampler.rss
    level.wall = args.duration
    await asyncio.gather(*(chat.http.aclose() for chat in chats))


def set_profile(url: str, profile: dict[str, float] | None) -> None:
    import httpx

    httpx.post(f"{url}/_fake/config", json={"profile": profile, "record": False}, timeout=10).raise_for_status()


async def bench(args: argparse.Namespace) -> tuple[list[Level], float]:
    port, llm_port = free_port(), free_port()
    reset(DB, ENV["REDIS_URL"], create=True)
    stack = Stack(
        {
            **ENV,
            "SITE_PORT": str(port),
            "LOCAL_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
        }
    )
    levels: list[Level] = []
    try:
        fake = stack.start(
            "fake-llm", sys.executable, "-m", "tests.fakes.llm_server", "--port", str(llm_port), "--no-record"
        )
        stack.run(sys.executable, "manage.py", "migrate_teams", "-v", "0")
        stack.run(sys.executable, "manage.py", "setup_demo")
        ((schema,),) = psql("SELECT schema_name FROM tenants_team WHERE slug = 'demo'", DB)
        ((public_id,),) = psql(f'SELECT public_id FROM "{schema}".chatbots_chatbot WHERE is_public', DB)
        web = stack.start(
            "web", *GUNICORN, "--worker-connections", "4000", "config.wsgi", "--bind", f"127.0.0.1:{port}",
            env={"DB_POOL_MAX_SIZE": str(args.web_pool)} if args.web_pool else None,
        )  # fmt: skip
        per_worker = max(1, args.chat_concurrency // args.chat_workers)
        commands = [
            [*CELERY, "config", *CELERY_ARGS, "-n", f"chat{n}@%h", "-Q", "chat", "-P", "gevent", "--concurrency",
             str(per_worker)]
            for n in range(args.chat_workers)
        ]  # fmt: skip
        chat_env = {"DB_POOL_MAX_SIZE": str(args.db_pool)}
        if args.chat_workers == 1:
            chat = stack.start("chat", *commands[0], env=chat_env)
        else:  # one parent, so the workers count as one process tree
            script = " & ".join(shlex.join(command) for command in commands) + " & wait"
            chat = stack.start("chat", "bash", "-c", script, env=chat_env)
        stack.start("worker", *CELERY, "config", *CELERY_ARGS, "-Q", "pipelines,maintenance", "--concurrency", "1")
        host = f"demo.localhost:{port}"
        stack.wait_http(f"http://127.0.0.1:{port}/healthz", host)
        listener = Listener(ENV["REDIS_URL"], f"{ENV['CACHE_KEY_PREFIX']}:team:{schema}:turn:*")
        ready = asyncio.Event()
        listen_task = asyncio.create_task(listener.run(ready))
        await asyncio.wait_for(ready.wait(), 10)
        roots = {"web": web, "chat": chat, "fake": fake}
        context = {"listener": listener, "port": port, "host": host, "public_id": str(public_id), "roots": roots}
        context["schema"] = schema
        set_profile(f"http://127.0.0.1:{llm_port}", None)
        warm = Level(2, 0.0, 0.0)
        await run_level(warm, argparse.Namespace(**{**vars(args), "duration": 3.0}), context)
        idle_rss = rss_mb(roots)
        for spec in args.levels:
            zero = spec.startswith("0:")
            conversations = int(spec.split(":")[-1])
            profile = (
                None
                if zero
                else {
                    "first_token": args.first_token,
                    "tokens": args.tokens,
                    "seconds": args.seconds,
                    "tick": args.tick,
                }
            )
            set_profile(f"http://127.0.0.1:{llm_port}", profile)
            level = Level(
                conversations, 0.0 if zero else args.first_token, 0.0 if zero else args.first_token + args.seconds
            )
            try:
                await run_level(level, args, context)
            except Exception as exc:  # the levels measured so far are still reported
                print(f"level {spec} failed: {exc!r}", flush=True)
                break
            levels.append(level)
            print(summary(level, zero), flush=True)
        listen_task.cancel()
        return levels, idle_rss
    finally:
        stack.stop()
        reset(DB, ENV["REDIS_URL"], create=False)


# ------------------------------------------------------------------------------------------------------ report


def pct(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000


def summary(level: Level, zero: bool) -> str:
    return (
        f"{'zero-latency' if zero else 'realistic'} @{level.conversations}: {level.turns / level.wall:.1f} turns/s, "
        f"ttft+ p50 {pct(level.ttft, 50):.0f} ms, full+ p50 {pct(level.total, 50):.0f} ms, errors {level.errors} "
        f"{level.failed or ''}; "
        f"server: queue p50 {pct(level.queue, 50):.0f} / p95 {pct(level.queue, 95):.0f} ms, claimed->stored p50 "
        f"{pct(level.work, 50):.0f} ms; run-queue wait: chat worker {level.waited.get('chat', 0):.0%}, web "
        f"{level.waited.get('web', 0):.0%}"
    )


def report(args: argparse.Namespace, levels: list[Level], idle_rss: float) -> str:
    model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    machine = f"{model.group(1).strip() if model else platform.machine()}, {os.cpu_count()} CPUs"
    fsync = psql("SHOW fsync")[0][0]
    sync = psql("SHOW synchronous_commit")[0][0]
    load = os.getloadavg()[0]
    web_db = f"a pool of {args.web_pool} connections" if args.web_pool else "a persistent connection per thread"
    lines = [
        f"## Streaming turns ({args.label}) — {date.today()} — {machine}",
        "",
        f"Commit {revision()}, Python {platform.python_version()}; PostgreSQL (fsync {fsync}, synchronous_commit "
        f"{sync}), Redis, the fake LLM and the load generator on the same machine (load average {load:.1f} at the "
        f"end). Web: gunicorn gthread 1 × 32 threads (the send answers at once), "
        f"{web_db}. Chat worker: Celery gevent pool, "
        f"{args.chat_workers} process(es), concurrency {args.chat_concurrency} in all, database pool "
        f"`DB_POOL_MAX_SIZE` {args.db_pool} each. Model profile: first "
        f"token after {args.first_token} s, {args.tokens} tokens over {args.seconds} s, streamed (zero-latency rows: "
        f"the echo at once). Clients read the turn's Redis channel (the ASGI stream server was not merged yet); "
        f"{args.duration:.0f} s per level after one warm-up turn per conversation; a new session every "
        f"{args.turns_per_session} turns. Overheads = client time - the model's own time (first token / whole "
        "answer). CPU = utime + stime from /proc per turn.",
        "",
        "| model | conversations | turns/s | first-token overhead p50 / p95 ms | full-turn overhead p50 / p95 ms "
        "| CPU ms/turn: total (web / chat worker / postgres / redis) | PG connections peak (busy) | RSS web+worker MB "
        "| chat worker waiting for a CPU | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for spec, level in zip(args.levels, levels, strict=False):
        parts = " / ".join(f"{level.per_turn(c):.1f}" for c in COMPONENTS)
        total = sum(level.per_turn(c) for c in COMPONENTS)
        lines.append(
            f"| {'zero' if spec.startswith('0:') else 'realistic'} | {level.conversations} | "
            f"{level.turns / level.wall:.1f} | {pct(level.ttft, 50):.0f} / {pct(level.ttft, 95):.0f} | "
            f"{pct(level.total, 50):.0f} / {pct(level.total, 95):.0f} | **{total:.1f}** ({parts}) | "
            f"{level.connections} ({level.busy_connections}) | {level.rss:.0f} | {level.waited.get('chat', 0):.0%} | "
            f"{level.errors}{' ' + str(level.failed) if level.failed else ''} |"
        )
    lines.append("")
    lines.append(
        '- "Waiting for a CPU": the share of the level\'s wall time the chat worker was runnable but not running '
        "(/proc/<pid>/schedstat); it shows how much the rest of the machine held it back."
    )
    lines.append(f"- Idle RSS web + chat worker: {idle_rss:.0f} MB.")
    lines.append(
        "- Outside the turn's CPU (ms per turn, same machine): fake LLM "
        + ", ".join(f"@{lv.conversations} {lv.per_turn('fake'):.1f}" for lv in levels)
        + "; load generator (HTTP clients + the Redis listener) "
        + ", ".join(f"@{lv.conversations} {lv.per_turn('loadgen'):.1f}" for lv in levels)
        + "."
    )
    zero10 = next((lv for s, lv in zip(args.levels, levels, strict=False) if s == "0:10"), None)
    for spec, level in zip(args.levels, levels, strict=False):
        if zero10 is not None and zero10.turns and not spec.startswith("0:"):
            lines.append(
                f"- @{level.conversations}: {level.turns / level.wall / (zero10.turns / zero10.wall):.2f}× the "
                f"zero-latency turns/s at 10; RSS growth over idle {level.rss - idle_rss:.0f} MB; machine busy "
                f"{level.cpu['machine'] / (level.wall * (os.cpu_count() or 1) * 10):.0f} %."
            )
    return "\n".join(lines)


def write_results(section: str, label: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    heading = re.escape(f"## Streaming turns ({label})")
    text, pattern = path.read_text(), re.compile(rf"^{heading}.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", default="0:10,10,100,300,1000")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--turns-per-session", type=int, default=10)
    parser.add_argument("--chat-concurrency", type=int, default=1000)
    parser.add_argument("--db-pool", type=int, default=10, help="each chat worker's DB_POOL_MAX_SIZE")
    parser.add_argument("--web-pool", type=int, default=0, help="web's DB_POOL_MAX_SIZE (0: persistent connections)")
    parser.add_argument("--chat-workers", type=int, default=1, help="gevent chat worker processes (concurrency split)")
    parser.add_argument("--first-token", type=float, default=0.5)
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--tick", type=float, default=0.0, help="fake LLM: group tokens due within this (seconds)")
    parser.add_argument("--write", action="store_true", help="replace this label's section in bench/RESULTS.md")
    parser.add_argument("--label", default="1 chat worker", help="names the section in bench/RESULTS.md")
    args = parser.parse_args()
    args.levels = args.levels.split(",")
    (ROOT / "var").mkdir(exist_ok=True)
    levels, idle_rss = asyncio.run(bench(args))
    section = report(args, levels, idle_rss)
    print(section)
    if args.write:
        write_results(section, args.label)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted (the stack's processes are stopped)")

"""The turn path through real processes: gunicorn (gthread) + a Celery worker + PostgreSQL + Redis, with the
loopback fake LLM, side by side with the bare "minimal turn" project in bench/minimal (the ceiling).

A product turn is one public-link exchange as the browser does it: POST the message to the URL the page's form
names (which waits for the reply: usually the whole turn); if the answer is a pending bubble instead, GET the
reply URL it names (long poll) until the reply is in it; a bubble that says ``delay:1s`` (no free long-poll slot)
is honoured as htmx would. Each conversation starts a new session
every ``--turns-per-session`` turns (a chat's history grows with every turn; a run-long session would measure
the history, not the turn). A minimal turn POSTs JSON and polls every 2 ms.

Per level of concurrent conversations (one client thread, cookie jar and keep-alive connection each): turns/s,
client latency (send -> reply received), server latency (reply.created_at - message.created_at, from the
database), CPU ms per turn of web / worker / postgres / redis (utime + stime from /proc; the load generator and
the fake LLM, a process of its own, are not counted) and database queries per turn (a separate in-process pass
with ``CaptureQueriesContext`` after 3 warm-up turns; statements in var/bench-turns-queries-*.txt).

Throwaway databases ``bench_turns`` and ``bench_minimal`` (or ``BENCH_TURNS_DB`` / ``BENCH_MINIMAL_DB``) are created
and dropped, Redis dbs 12 and 15 flushed; process logs go to var/bench-turns-*.log. About 2.5 minutes with the
defaults. Usage:

    .venv/bin/python bench/turns.py [--concurrency 1,10] [--duration 20] [--warmup 20] [--turns-per-session 10]
                                    [--worker-concurrency 2] [--write] [--keep]

``--write`` replaces the "Turn path" section of bench/RESULTS.md (or appends it); ``--keep`` keeps the databases.
The load generator shares the machine with the stack; the report says how busy the machine was and with what.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.pgsettings import describe as describe_pg  # noqa: E402

SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_SERVER", "redis://127.0.0.1:6379")
# Database names: set them apart when two checkouts run the bench at once on one server.
PRODUCT_DB = os.environ.get("BENCH_TURNS_DB", "bench_turns")
MINIMAL_DB = os.environ.get("BENCH_MINIMAL_DB", "bench_minimal")
COMMON = {"PYTHONUNBUFFERED": "1", "DEBUG": "false", "LOG_LEVEL": "WARNING"}
PRODUCT_ENV = {
    **COMMON,
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DATABASE_URL": f"{SERVER}/{PRODUCT_DB}",
    "RATE_LIMITS_ENABLED": "false",  # one address opens every session: the public link's visitor limits would refuse
    "REDIS_URL": f"{REDIS}/12",
    "CACHE_KEY_PREFIX": "benchturns",
    "LOCAL_LLM": "0",
    "LOCAL_LLM_MODEL": "fake-model",
}
MINIMAL_ENV = {
    **COMMON,
    "DJANGO_SETTINGS_MODULE": "bench.minimal.settings",
    "MINIMAL_REDIS": f"{REDIS}/15",
    "MINIMAL_DB": MINIMAL_DB,
}
# As infra/dev/Procfile (one web process on a 2-core box that runs everything); without the control socket,
# whose default path another gunicorn (e2e tests) may hold.
GUNICORN = [str(Path(sys.executable).parent / "gunicorn"), "-k", "gthread", "--workers", "1", "--threads", "32"]
GUNICORN.append("--no-control-socket")
CELERY = [sys.executable, "-m", "celery", "-A"]
CELERY_ARGS = ["worker", "--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
COMPONENTS = ("web", "worker", "postgres", "redis")
OCS_TURNS_S, OCS_CPU_MS = 7.0, 250.0  # Open Chat Studio at 10 conversations (figures from the issue)
TARGETS = "≥150 turns/s at 10 conversations, p50 < 30 ms at 1 conversation, < 10 ms CPU per turn"

SEND_URL = re.compile(r'hx-post="(/c/[^"]+/send/)([^"]*)"')


def send_path(html: str, *, wait: bool = True) -> str:
    """The chat page's send URL, as a non-streaming client uses it: the page's path and ``?new=1`` (a visit's
    first message starts its session there), ``?wait=20`` when ``wait`` (the request holds on for the reply), never
    ``stream=1``."""
    match = SEND_URL.search(html)
    if match is None:
        raise RuntimeError("no send form on the chat page")
    query = match.group(2).replace("&amp;", "&").lstrip("?")
    params = [p for p in query.split("&") if p.startswith("new=")] + (["wait=20"] if wait else [])
    return match.group(1) + ("?" + "&".join(params) if params else "")


def session_send_path(response_headers: Any, current: str, *, wait: bool = True) -> str:
    """After a visit's first message: the session's own send URL (the ``chat-session`` event), else ``current``."""
    trigger = response_headers.get("HX-Trigger") or ""
    if "chat-session" not in trigger:
        return current
    base = json.loads(trigger)["chat-session"]["base"]
    return f"{base}send/" + ("?wait=20" if wait else "")


CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
PENDING = re.compile(r'id="pending-(\d+)"[^>]*hx-get="([^"]+)" hx-trigger="load( delay:[^"]+)?"')


def last_pending(html: str) -> re.Match[str] | None:
    """The pending bubble of the message just sent: a visit's first send also carries the greeting's (seed) turn,
    which comes first."""
    found = list(PENDING.finditer(html))
    return found[-1] if found else None


PG_BACKEND = re.compile(r"^postgres: (?:\S+: )?\S+ (\S+) (?:\S+\(\d+\)|\[local\])")  # user db host(port)
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def psql(sql: str, db: str = "postgres") -> list[tuple]:
    import psycopg

    with psycopg.connect(f"{SERVER}/{db}", autocommit=True) as conn:
        cursor = conn.execute(sql)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def reset(db: str, redis_url: str, *, create: bool) -> None:
    import redis

    psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    if create:
        psql(f'CREATE DATABASE "{db}"')
    redis.Redis.from_url(redis_url).flushdb()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------------- processes


class Stack:
    """Child processes, each in its own session (Ctrl-C reaches only us), stopped TERM then KILL by their ids."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env}
        self.procs: dict[str, subprocess.Popen] = {}

    def run(self, *args: str) -> None:
        result = subprocess.run(args, cwd=ROOT, env=self.env, capture_output=True, text=True, check=False)
        if result.returncode:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-3000:]}")

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> int:
        log = (ROOT / "var" / f"bench-turns-{name}.log").open("wb")
        env = {**self.env, **(env or {})}
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        self.procs[name] = proc
        return proc.pid

    def wait_http(self, url: str, host: str, seconds: float = 30) -> None:
        import requests

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if any(proc.poll() is not None for proc in self.procs.values()):
                raise RuntimeError("a stack process exited early; see var/bench-turns-*.log")
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, headers={"Host": host}, timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer in {seconds} s")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # leftovers of its own group (pool children)
        self.procs.clear()


def cpu_snapshot(roots: dict[str, int], db: str, loadgen: list[int]) -> dict[str, dict[int, int]]:
    """CPU ticks per pid of each component: the web and worker process trees; the PostgreSQL server without other
    databases' backends; redis-server. Also the load generator (+ fake LLM) and the whole machine, for context."""
    table = {}  # pid -> (ppid, comm, cmdline, ticks)
    for entry in os.scandir("/proc"):
        with contextlib.suppress(OSError, ValueError):
            stat = Path(f"/proc/{int(entry.name)}/stat").read_text()
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            comm, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
            table[int(entry.name)] = (int(fields[1]), comm, cmdline, int(fields[11]) + int(fields[12]))
    groups: dict[str, dict[int, int]] = {name: {} for name in (*COMPONENTS, "loadgen", "machine")}
    for name, root in roots.items():
        todo = [root]
        while todo:
            pid = todo.pop()
            groups[name][pid] = table[pid][3] if pid in table else 0
            todo += [child for child, row in table.items() if row[0] == pid]
    for pid, (_, comm, cmdline, ticks) in table.items():
        backend = PG_BACKEND.match(cmdline)
        if comm == "postgres" and (backend is None or backend.group(1) == db):
            groups["postgres"][pid] = ticks
        elif comm == "redis-server":
            groups["redis"][pid] = ticks
    groups["loadgen"] = {pid: table[pid][3] for pid in loadgen if pid in table}
    cpu = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    groups["machine"] = {0: sum(cpu) - cpu[3] - cpu[4]}  # all but idle and iowait
    return groups


# ---------------------------------------------------------------------------------------------------- the load


class ProductChat:
    """One visitor on the public link (own cookie jar, keep-alive connection), as htmx drives it. Every
    ``per_session`` turns it starts a new session (``?new=1``: page load + the bot's greeting turn), so the
    history a turn carries stays that of a short chat however long the run is."""

    def __init__(self, port: int, host: str, public_id: str, per_session: int) -> None:
        import requests

        self.url, self.http, self.requests, self.bounced = f"http://127.0.0.1:{port}", requests.Session(), 0, 0
        self.page, self.per_session, self.turns = f"{self.url}/c/{public_id}/", per_session, 0
        self.http.headers["Host"] = host
        self.open("")

    def open(self, query: str) -> None:
        page = self.http.get(self.page + query, headers={"HX-Request": None}, timeout=30)  # may redirect once
        page.raise_for_status()
        self.send = send_path(page.text)
        csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        self.http.headers.update({"X-CSRFToken": csrf, "HX-Request": "true"})

    def turn(self, text: str) -> float | None:
        """Send -> reply received, in seconds; None when no reply came."""
        if self.per_session and self.turns and self.turns % self.per_session == 0:
            self.open("?new=1")
        self.turns += 1
        start = time.perf_counter()
        sent = self.http.post(self.url + self.send, data={"message": text}, timeout=30)
        self.send, html = session_send_path(sent.headers, self.send), sent.text
        self.requests += 1
        while f"Echo: {text}" not in html and (pending := last_pending(html)) and time.perf_counter() - start < 30:
            if pending.group(3):  # "load delay:1s": the long poll found no free slot; htmx waits before asking
                self.bounced += 1
                time.sleep(1)
            html = self.http.get(self.url + pending.group(2), timeout=30).text
            self.requests += 1
        return time.perf_counter() - start if f"Echo: {text}" in html else None


class MinimalChat:
    def __init__(self, port: int, conversation: int) -> None:
        import requests

        self.url, self.http, self.requests, self.bounced = f"http://127.0.0.1:{port}", requests.Session(), 0, 0
        self.conversation = conversation

    def turn(self, text: str) -> float | None:
        start = time.perf_counter()
        sent = self.http.post(f"{self.url}/send/{self.conversation}/", json={"text": text}, timeout=30).json()
        self.requests += 1
        while time.perf_counter() - start < 30:
            self.requests += 1
            reply = self.http.get(f"{self.url}/poll/{sent['id']}/", timeout=30).json()["reply"]
            if reply is not None:
                return time.perf_counter() - start if reply == f"echo: {text}" else None
            time.sleep(0.002)
        return None


@dataclass
class Level:
    conversations: int
    wall: float = 0.0
    errors: int = 0
    requests: int = 0
    bounced: int = 0  # long polls that found no free slot (answered at once; the page asks again after 1 s)
    latencies: list[float] = field(default_factory=list)
    server: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # ms over the window

    @property
    def turns(self) -> int:
        return len(self.latencies)

    def per_turn(self, name: str) -> float:
        return self.cpu[name] / max(self.turns, 1)


def run_level(
    conversations: int,
    open_chat: Callable[[int], ProductChat | MinimalChat],
    snapshot: Callable[[], dict[str, dict[int, int]]],
    server_latencies: Callable[[float, float], list[float]],
    args: argparse.Namespace,
) -> Level:
    level, stop = Level(conversations), threading.Event()  # stop: Ctrl-C ends the client threads' loops

    def warm(chat: ProductChat | MinimalChat) -> None:
        for n in range(max(2, args.warmup // conversations)):
            if not stop.is_set() and chat.turn(f"warm {n}") is None:
                raise RuntimeError("a warm-up turn got no reply; see var/bench-turns-*.log")
        chat.requests = chat.bounced = 0

    def loop(index: int, chat: ProductChat | MinimalChat, until: float) -> tuple[list[float], int]:
        latencies, errors = [], 0
        while time.perf_counter() < until and not stop.is_set():
            try:
                latency = chat.turn(f"hello {index} {len(latencies) + errors}")
            except Exception:  # counted and reported; the run goes on
                latency = None
            if latency is None:
                errors += 1
            else:
                latencies.append(latency)
        return latencies, errors

    with ThreadPoolExecutor(conversations) as pool:
        try:
            chats = list(pool.map(open_chat, range(conversations)))
            list(pool.map(warm, chats))
            before, t0, start = snapshot(), time.time(), time.perf_counter()
            results = list(pool.map(lambda i: loop(i, chats[i], start + args.duration), range(conversations)))
            level.wall, t1, after = time.perf_counter() - start, time.time(), snapshot()
        except BaseException:
            stop.set()
            raise
    for latencies, errors in results:
        level.latencies += latencies
        level.errors += errors
    level.requests, level.bounced = sum(c.requests for c in chats), sum(c.bounced for c in chats)
    level.cpu = {
        name: sum(ticks - before[name].get(pid, 0) for pid, ticks in pids.items()) * TICK_MS
        for name, pids in after.items()
    }
    level.server = server_latencies(t0, t1)
    return level


def server_sql(table: str, user_messages: str, db: str) -> Callable[[float, float], list[float]]:
    def query(t0: float, t1: float) -> list[float]:
        sql = (
            f"SELECT EXTRACT(EPOCH FROM r.created_at - m.created_at) FROM {table} m JOIN {table} r ON "
            f"r.reply_to_id = m.id WHERE {user_messages} AND m.created_at BETWEEN to_timestamp({t0}) AND "
            f"to_timestamp({t1})"
        )
        return [float(seconds) for (seconds,) in psql(sql, db)]

    return query


# ------------------------------------------------------------------------------------------------- the stacks


def bench_product(args: argparse.Namespace) -> tuple[list[Level], dict[str, int]]:
    db, port, llm_port = PRODUCT_DB, free_port(), free_port()
    reset(db, PRODUCT_ENV["REDIS_URL"], create=True)
    stack = Stack({**PRODUCT_ENV, "SITE_PORT": str(port), "LOCAL_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1"})
    try:
        fake_llm = stack.start("fake-llm", sys.executable, "-m", "tests.fakes.llm_server", "--port", str(llm_port))
        stack.run(sys.executable, "manage.py", "migrate_teams", "-v", "0")
        stack.run(sys.executable, "manage.py", "setup_demo")
        ((schema,),) = psql("SELECT schema_name FROM tenants_team WHERE slug = 'demo'", db)
        ((public_id, ready),) = psql(
            f'SELECT public_id, is_public AND published_version_id IS NOT NULL FROM "{schema}".chatbots_chatbot', db
        )
        if not ready:
            raise RuntimeError("setup_demo's chatbot is no longer public and published: make it so here")
        web = stack.start("web", *GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}")
        if args.chat_pool == "gevent":  # as infra/dev/Procfile: turns on the gevent chat worker (ADR 0090)
            worker = stack.start(
                "worker", *CELERY, "config", *CELERY_ARGS, "-n", "chat@%h", "-Q", "chat", "-P", "gevent",
                "--concurrency", "1000",
            )  # fmt: skip
            stack.start("worker-other", *CELERY, "config", *CELERY_ARGS, "-Q", "pipelines,maintenance", "-c", "1")
        else:
            worker = stack.start(
                "worker", *CELERY, "config", *CELERY_ARGS, "-Q", "chat,pipelines,maintenance",
                "--concurrency", str(args.worker_concurrency),
            )  # fmt: skip
        host = f"demo.localhost:{port}"
        stack.wait_http(f"http://127.0.0.1:{port}/healthz", host)
        table = f'"{schema}".conversations_chatmessage'
        levels = [
            run_level(
                n,
                lambda _: ProductChat(port, host, str(public_id), args.turns_per_session),
                lambda: cpu_snapshot({"web": web, "worker": worker}, db, [os.getpid(), fake_llm]),
                server_sql(table, "m.role = 'user' AND NOT m.hidden", db),
                args,
            )
            for n in args.concurrency
        ]
        return levels, count_in_subprocess("product", stack.env)
    finally:
        stack.stop()
        if not args.keep:
            reset(db, PRODUCT_ENV["REDIS_URL"], create=False)


def bench_minimal(args: argparse.Namespace) -> tuple[list[Level], dict[str, int]]:
    db, port = MINIMAL_DB, free_port()  # bench/minimal/settings.py reads MINIMAL_DB
    reset(db, MINIMAL_ENV["MINIMAL_REDIS"], create=True)
    stack = Stack(MINIMAL_ENV)
    try:
        stack.run(sys.executable, "-m", "django", "migrate", "-v", "0")
        web = stack.start("minimal-web", *GUNICORN, "bench.minimal.wsgi", "--bind", f"127.0.0.1:{port}")
        worker = stack.start(
            "minimal-worker", *CELERY, "bench.minimal.celery_app", *CELERY_ARGS, "-Q", "chat",
            "--concurrency", str(args.worker_concurrency),
        )  # fmt: skip
        stack.wait_http(f"http://127.0.0.1:{port}/poll/0/", "localhost")
        levels = [
            run_level(
                n,
                lambda i: MinimalChat(port, i),
                lambda: cpu_snapshot({"web": web, "worker": worker}, db, [os.getpid()]),
                server_sql("minimal_msg", "m.reply_to_id IS NULL", db),
                args,
            )
            for n in args.concurrency
        ]
        return levels, count_in_subprocess("minimal", stack.env)
    finally:
        stack.stop()
        if not args.keep:
            reset(db, MINIMAL_ENV["MINIMAL_REDIS"], create=False)


def count_queries(kind: str) -> dict[str, int]:
    """(In a subprocess with that project's settings.) Queries Django logs for the send, the worker's part and
    the reply poll of one conversation's 4th turn. The enqueue hands the turn to a thread of its own (a
    persistent connection, like a Celery process), which runs it after ``delay`` as under load. The product's send
    waits for its reply as the chat page asks it to (one request per turn: no reply poll); the minimal one polls
    once after the turn. Statements go to var/bench-turns-queries-<kind>.txt."""
    from concurrent.futures import Future
    from unittest import mock

    import django

    django.setup()
    from django.db import close_old_connections, connection, connections
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    wrapper = type(connections["default"])
    is_usable = wrapper.is_usable
    queued: list[Future] = []

    def logged_is_usable(self: Any) -> bool:  # the CONN_HEALTH_CHECKS round trip, which Django does not log
        if self.queries_logged:
            self.queries_log.append({"sql": "SELECT 1  -- health check (CONN_HEALTH_CHECKS)", "time": "0.000"})
        return is_usable(self)

    if kind == "product":
        from tenant_apps.chatbots.models import Chatbot
        from tenant_apps.conversations import tasks, turns
        from tenants.context import tenant_context
        from tenants.models import Team

        team = Team.objects.get(slug="demo")
        with tenant_context(team):
            public_id = Chatbot.objects.get(is_public=True).public_id
        client = Client(HTTP_HOST="demo.localhost", HTTP_HX_REQUEST="true")
        page = client.get(f"/c/{public_id}/", follow=True).content.decode()
        send_url = send_path(page)
        delay = 0.05
        stub = mock.patch.object(tasks.turn_process_task, "delay", side_effect=lambda message_id: enqueue(message_id))

        def send(text: str) -> str | None:
            nonlocal send_url
            response = client.post(send_url, {"message": text})
            send_url = session_send_path(response.headers, send_url)
            if f"Echo: {text}" in (html := response.content.decode()):
                return None  # answered within the send's wait
            pending = last_pending(html)
            assert pending is not None
            return pending.group(2)

        def work(message_id: int) -> None:
            if connection.schema_name != team.schema_name:  # a worker keeps the last task's schema (config/celery.py)
                connection.set_tenant(team)
            turns.turn_process(message_id=message_id)

    else:
        from bench.minimal.celery_app import turn

        client, delay = Client(), 0.0
        stub = mock.patch.object(turn, "apply_async", side_effect=lambda args, **_: enqueue(*args))

        def send(text: str) -> str | None:
            message_id = client.post("/send/1/", {"text": text}, content_type="application/json").json()["id"]
            return f"/poll/{message_id}/"

        def work(message_id: int) -> None:
            turn(message_id)

    def enqueue(message_id: int) -> None:  # the broker: the "worker" thread runs the turn
        queued.append(pool.submit(task, message_id))

    def task(message_id: int) -> list[dict]:
        time.sleep(delay)
        close_old_connections()  # as Celery's Django fixup does around each task
        with CaptureQueriesContext(connection) as queries:
            work(message_id)
        return queries.captured_queries  # read here: `connection` is this thread's

    with stub, mock.patch.object(wrapper, "is_usable", logged_is_usable), ThreadPoolExecutor(1) as pool:
        for n in range(4):
            close_old_connections()  # as the server does at each request (the test client leaves it out)
            with CaptureQueriesContext(connection) as sent:
                reply_url = send(f"count {n}")
            worked = queued.pop().result()
            replied: list[dict] = []
            if reply_url is not None:
                close_old_connections()
                with CaptureQueriesContext(connection) as polled:
                    assert f"cho: count {n}" in client.get(reply_url).content.decode()
                replied = polled.captured_queries
    phases = {"send": sent.captured_queries, "worker": worked, "reply": replied}
    with (ROOT / "var" / f"bench-turns-queries-{kind}.txt").open("w") as out:
        for name, captured in phases.items():
            out.write(f"== {name}: {len(captured)}\n" + "".join(f"  {q['sql']}\n" for q in captured))
    return {name: len(captured) for name, captured in phases.items()}


def count_in_subprocess(kind: str, env: dict[str, str]) -> dict[str, int]:
    args = [sys.executable, __file__, "--count", kind]
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"query count ({kind}) failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.splitlines()[-1])


# ----------------------------------------------------------------------------------------------------- report


def ms(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000


def cpu_total(level: Level) -> float:
    return sum(level.per_turn(name) for name in COMPONENTS)


def row(name: str, level: Level, queries: dict[str, int]) -> str:
    parts = " / ".join(f"{level.per_turn(c):.1f}" for c in COMPONENTS)
    return (
        f"| {name} @{level.conversations} | {level.turns / level.wall:.1f} | {ms(level.latencies, 50):.1f} / "
        f"{ms(level.latencies, 95):.1f} | {ms(level.server, 50):.1f} / {ms(level.server, 95):.1f} | "
        f"**{cpu_total(level):.1f}** ({parts}) | {queries['send']} / {queries['worker']} / {queries['reply']} | "
        f"{level.requests / max(level.turns, 1):.1f} | {level.turns} | {level.errors} |"
    )


def revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    dirty = git(
        "status", "--porcelain", "--untracked-files=no", "--", "config", "tenants", "shared_apps", "tenant_apps"
    )
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else "")


def chat_worker(args: argparse.Namespace) -> str:
    if args.chat_pool == "gevent":
        return "Celery gevent pool (concurrency 1000, database pool 10)"
    return f"Celery prefork concurrency {args.worker_concurrency}"


def report(args: argparse.Namespace, product: tuple[list[Level], dict], minimal: tuple[list[Level], dict]) -> str:
    model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    machine = f"{model.group(1).strip() if model else platform.machine()}, {os.cpu_count()} CPUs"
    lines = [
        f"## Turn path — {date.today()} — {machine}",
        "",
        f"{describe_pg(SERVER + '/postgres')}.",
        "",
        f"Commit {revision()}, Python {platform.python_version()}; gunicorn gthread 1 worker × 32 threads, product "
        f"chat worker {chat_worker(args)}, minimal: Celery prefork concurrency {args.worker_concurrency}; "
        f"PostgreSQL 15, Redis and the load generator on the same machine; fake LLM (echo) in its own process. "
        f"{args.duration:.0f} s per level after {args.warmup} warm-up turns. Product: public link as the page "
        "does it (the send waits for the reply; a pending bubble, if any, long-polls), a new session (page + "
        f"greeting turn) every {args.turns_per_session} turns; minimal: bench/minimal (JSON send, reply polled "
        "every 2 ms). Latencies in "
        "ms; CPU = utime + stime from /proc (load generator and fake LLM not counted); queries counted in-process.",
        "",
        "| stack | turns/s | client p50 / p95 | server p50 / p95 | CPU ms/turn (web / worker / postgres / redis) "
        "| queries (send / worker / reply) | HTTP req/turn | turns | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(row("product", level, product[1]) for level in product[0]),
        *(row("minimal", level, minimal[1]) for level in minimal[0]),
        "",
    ]
    for p, m in zip(product[0], minimal[0], strict=True):
        lines.append(
            f"- @{p.conversations}: product / minimal = {p.turns / p.wall / (m.turns / m.wall):.2f}× turns/s, "
            f"{cpu_total(p) / cpu_total(m):.1f}× CPU per turn, {ms(p.latencies, 50) / ms(m.latencies, 50):.1f}× "
            f"client p50; long polls with no free slot (page waits 1 s): {p.bounced}."
        )
    at10 = next((p for p in product[0] if p.conversations == 10), None)
    if at10:
        lines.append(
            f"- vs Open Chat Studio (issue figures, not measured here: ~{OCS_TURNS_S:.0f} turns/s at 10, "
            f"~{OCS_CPU_MS:.0f} ms CPU/turn): {at10.turns / at10.wall / OCS_TURNS_S:.1f}× the turns/s, "
            f"{OCS_CPU_MS / cpu_total(at10):.1f}× less CPU per turn."
        )
    lines.append(f"- Targets: {TARGETS}.")
    for level, name in [(p, "product") for p in product[0]] + [(m, "minimal") for m in minimal[0]]:
        capacity = level.wall * (os.cpu_count() or 1) * 1000 / 100  # ms of CPU per 1 % of the machine
        measured = sum(level.cpu[c] for c in COMPONENTS)
        lines.append(
            f"- Machine busy during {name} @{level.conversations}: {level.cpu['machine'] / capacity:.0f} % "
            f"(measured components {measured / capacity:.0f} %, load generator + fake LLM "
            f"{level.cpu['loadgen'] / capacity:.0f} %, everything else "
            f"{(level.cpu['machine'] - measured - level.cpu['loadgen']) / capacity:.0f} %)."
        )
    return "\n".join(lines)


def write_results(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text, pattern = path.read_text(), re.compile(r"^## Turn path\b.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,10", help="concurrent conversations per level, comma-separated")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per level")
    parser.add_argument("--warmup", type=int, default=20, help="warm-up turns per level")
    parser.add_argument("--turns-per-session", type=int, default=10, help="product: new session every N turns")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="Celery prefork processes")
    parser.add_argument(
        "--chat-pool", choices=["gevent", "prefork"], default="gevent", help="product chat worker (Procfile: gevent)"
    )
    parser.add_argument("--write", action="store_true", help="replace the section in bench/RESULTS.md")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--count", choices=["product", "minimal"], help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()
    if args.count:
        print(json.dumps(count_queries(args.count)))
        return
    args.concurrency = [int(n) for n in args.concurrency.split(",")]
    (ROOT / "var").mkdir(exist_ok=True)
    started = time.perf_counter()
    section = report(args, bench_product(args), bench_minimal(args))
    print(section)
    print(f"\n(run took {time.perf_counter() - started:.0f} s)", file=sys.stderr)
    if args.write:
        write_results(section)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted (the stack's processes are stopped)")

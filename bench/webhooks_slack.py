"""Slack events webhook acknowledgement latency at a sustained rate, through real processes: gunicorn (gthread, as
infra/dev/Procfile) serving the apex ``/webhooks/slack/events/``, the gevent chat worker (turns and reply sends),
PostgreSQL, Redis, the loopback fake LLM (instant replies) and the loopback Slack Web API double
(``tests/fakes/slack_api.py``, in its own process).

Open loop: ``--rate`` signed ``app_mention`` events per second (each a new thread, signed with ``slack_sdk``'s
``SignatureVerifier`` like Slack) for ``--duration`` seconds, each on its own schedule whatever the server's pace;
``--retries`` of them are sent again with ``X-Slack-Retry-Num`` (re-signed, as Slack does). Reported: ack latency
(request → 200) p50/p95/p99/max, the rate achieved, errors, then, once the worker has drained: every message
answered exactly once (one ``chat.postMessage`` per thread on the double, one stored message per event).
``--pause-worker S`` stops the chat worker (SIGSTOP) for S seconds in the middle: acks must stay fast and every
message must still be answered after it resumes.

Throwaway database ``bench_webhooks_slack`` (``BENCH_WEBHOOKS_DB``) and Redis db 13 are created and dropped; logs
in var/bench-turns-*.log. Usage:

    .venv/bin/python bench/webhooks_slack.py [--rate 200] [--duration 15] [--retries 0.05] [--pause-worker 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_REDIS_SERVER", os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379"))

from bench.turns import GUNICORN, REDIS, SERVER, TICK_MS, Stack, cpu_snapshot, free_port, psql, reset  # noqa: E402

DB = os.environ.get("BENCH_WEBHOOKS_DB", "bench_webhooks_slack")
WORKSPACE = "T0BENCH01"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
BOT_TOKEN = "xoxb-bench-token"
ENV = {
    "PYTHONUNBUFFERED": "1",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DATABASE_URL": f"{SERVER}/{DB}",
    "REDIS_URL": f"{REDIS}/13",
    "CACHE_KEY_PREFIX": "benchslack",
    "LOCAL_LLM": "0",
    "LOCAL_LLM_MODEL": "fake-model",
    "RATE_LIMITS_ENABLED": "false",
}
SETUP = f"""
from tenants.context import tenant_context
from tenants.models import Team
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.channels.services import channel_create
from tenant_apps.providers.enums import ProviderKind
from tenant_apps.providers.services import provider_create
with tenant_context(Team.objects.get(slug="demo")):
    bot = Chatbot.objects.exclude(published_version=None).order_by("id").first()
    provider = provider_create(kind=ProviderKind.MESSAGING, type="slack", name="bench slack", config={{}},
                               secrets={{"bot_token": "{BOT_TOKEN}", "signing_secret": "{SIGNING_SECRET}"}})
    channel = channel_create(chatbot=bot, kind="slack", name="bench", provider=provider)
    print("ROUTE", channel.config["slack_team_id"])
"""
# Per event: stored once (distinct message ids), and its reply delivered; and every delivery marked sent, to
# compare with what the double received (a reply posted twice would make more posts than sent deliveries).
COUNT_SQL = """SELECT count(*), count(DISTINCT m.external_id), count(d.id) FILTER (WHERE d.status = 'sent'),
(SELECT count(*) FROM t_demo.channels_delivery WHERE status = 'sent')
FROM t_demo.conversations_chatmessage m JOIN t_demo.conversations_chatsession s ON s.id = m.session_id
LEFT JOIN t_demo.conversations_chatmessage r ON r.reply_to_id = m.id
LEFT JOIN t_demo.channels_delivery d ON d.message_id = r.id
WHERE s.platform = 'slack' AND m.role = 'user' AND NOT m.hidden"""


def event(n: int, run: str, conversations: int) -> dict:
    """Event ``n``: a mention starting a new thread, or (``conversations`` > 0) a DM from one of that many users,
    whose first message starts the session the next ones continue."""
    ts = f"{1_700_000_000 + n}.{run}"
    if conversations:
        user = f"U{n % conversations:05d}"
        inner = {"type": "message", "channel_type": "im", "user": user, "text": f"question {n}", "ts": ts,
                 "channel": f"D{n % conversations:05d}", "event_ts": ts}  # fmt: skip
    else:
        inner = {"type": "app_mention", "user": f"U{n % 50:05d}", "text": f"<@U0BOT> question {n}", "ts": ts,
                 "channel": "C0BENCH", "event_ts": ts}  # fmt: skip
    return {
        "token": "legacy",
        "team_id": WORKSPACE,
        "api_app_id": "A0BENCH",
        "type": "event_callback",
        "event_id": f"Ev{run}{n:07d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": WORKSPACE, "user_id": "U0BOT", "is_bot": True}],
        "event": inner,
    }


def signed(payload: dict, retry: int = 0) -> tuple[bytes, dict[str, str]]:
    from slack_sdk.signature import SignatureVerifier

    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": str(SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)),
    }
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    return body, headers


async def load(args: argparse.Namespace, url: str, host: str, on_half: object) -> dict:
    import httpx

    run = f"{random.randrange(10**6):06d}"
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    duplicates = 0

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        warm = int(args.rate * args.warmup)

        async def one(n: int, retry: int) -> None:
            nonlocal duplicates
            if retry:
                await asyncio.sleep(1.5)  # Slack retries after its 3 s timeout, signed anew
            body, headers = signed(event(n, run, args.conversations), retry)
            began = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers={**headers, "Host": host})
            except httpx.HTTPError:
                statuses[0] += 1
                return
            if n >= warm:
                latencies.append(time.perf_counter() - began)
            statuses[response.status_code] += 1
            if response.status_code == 200 and response.json().get("duplicate"):
                duplicates += 1

        total = int(args.rate * (args.warmup + args.duration))
        interval = 1.0 / args.rate
        tasks = []
        start = time.perf_counter()
        paused = False
        for n in range(total):
            due = start + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not paused and n >= warm + (total - warm) // 2 - int(args.rate * args.pause_worker / 2):
                paused = True
                on_half()  # type: ignore[operator]
            tasks.append(asyncio.create_task(one(n, 0)))
            if n and random.random() < args.retries:
                tasks.append(asyncio.create_task(one(n - 1, 1)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    retried = len(tasks) - total
    return {"sent": total, "retried": retried, "wall": wall, "latencies": latencies, "statuses": statuses,
            "duplicates": duplicates, "run": run}  # fmt: skip


def counts() -> tuple:
    """COUNT_SQL's row; a shared server out of connections is asked again (a busy machine is not a failure)."""
    import psycopg

    for _ in range(60):
        try:
            return psql(COUNT_SQL, DB)[0]
        except psycopg.OperationalError:
            time.sleep(1)
    return psql(COUNT_SQL, DB)[0]


def posted_to(port: int) -> list[dict]:
    """What the Slack double was sent (its own ``/_posted``)."""
    from urllib.request import urlopen

    with urlopen(f"http://127.0.0.1:{port}/_posted", timeout=10) as answer:
        return list(json.loads(answer.read()))


def ms(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="signed events per second (open loop)")
    parser.add_argument("--duration", type=float, default=15, help="seconds of load")
    parser.add_argument("--warmup", type=float, default=3, help="seconds at the rate before latencies count")
    parser.add_argument("--retries", type=float, default=0.05, help="share of events sent again as Slack retries")
    parser.add_argument("--pause-worker", type=float, default=0, help="SIGSTOP the chat worker this long mid-run")
    parser.add_argument(
        "--conversations", type=int, default=0, help="0: every event a mention in a new thread; N: DMs of N users"
    )
    parser.add_argument("--drain", type=float, default=180, help="seconds to wait for every reply")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    port, llm_port, slack_port = free_port(), free_port(), free_port()
    reset(DB, ENV["REDIS_URL"], create=True)
    stack = Stack(
        {
            **ENV,
            "SITE_PORT": str(port),
            "LOCAL_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
            "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
        }
    )
    try:
        stack.start("fake-llm", sys.executable, "-m", "tests.fakes.llm_server", "--port", str(llm_port), "--no-record")
        stack.start(
            "slack-double", sys.executable, "-m", "tests.fakes.slack_api", "--port", str(slack_port),
            "--team-id", WORKSPACE,
        )  # fmt: skip
        stack.run(sys.executable, "manage.py", "migrate_teams", "-v", "0")
        stack.run(sys.executable, "manage.py", "setup_demo")
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=stack.env, capture_output=True,
            text=True, check=True,
        ).stdout  # fmt: skip
        assert re.search(rf"^ROUTE {WORKSPACE}$", out, re.M), out
        web = stack.start("slack-web", *GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}")
        chat = stack.start(
            "slack-chat", sys.executable, "-m", "celery", "-A", "config", "worker", "-n", "chat@benchslack", "-Q",
            "chat", "-P", "gevent", "--concurrency", "1000", "--without-gossip", "--without-mingle", "--loglevel",
            "WARNING",
        )  # fmt: skip
        host = f"localhost:{port}"
        stack.wait_http(f"http://127.0.0.1:{port}/healthz", host)
        time.sleep(3)  # the worker connects to the broker

        def pause() -> None:
            if args.pause_worker > 0:
                os.killpg(chat, signal.SIGSTOP)
                print(f"chat worker stopped for {args.pause_worker:g} s", flush=True)
                signal.setitimer(signal.ITIMER_REAL, args.pause_worker)

        signal.signal(signal.SIGALRM, lambda *_: (os.killpg(chat, signal.SIGCONT), print("chat worker resumed")))
        before = cpu_snapshot({"web": web, "worker": chat}, DB, [os.getpid()])
        result = asyncio.run(load(args, f"http://127.0.0.1:{port}/webhooks/slack/events/", host, pause))
        after = cpu_snapshot({"web": web, "worker": chat}, DB, [os.getpid()])
        result["cpu"] = {
            name: sum(t - before[name].get(pid, 0) for pid, t in after[name].items()) * TICK_MS
            for name in ("web", "worker", "postgres", "redis")
        }
        began = time.perf_counter()
        while time.perf_counter() - began < args.drain and counts()[2] < result["sent"]:
            time.sleep(0.5)
        result["drain"] = time.perf_counter() - began
        time.sleep(2)  # anything posted twice would show now
        posted = posted_to(slack_port)
        stored, distinct, answered, delivered = counts()
    finally:
        stack.stop()
        reset(DB, ENV["REDIS_URL"], create=False)
    result.update(posted=len(posted), threads=len({p.get("thread_ts") or p["channel"] for p in posted}))
    result.update(stored=stored, distinct=distinct, answered=answered, delivered=delivered)
    print(report(args, result))


def report(args: argparse.Namespace, r: dict) -> str:
    model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    machine = f"{model.group(1).strip() if model else platform.machine()}, {os.cpu_count()} CPUs"
    lat = r["latencies"]
    kind = f"DMs of {args.conversations} users" if args.conversations else "app_mentions, each a new thread"
    requests = r["sent"] + r["retried"]
    conversations = args.conversations or r["sent"]
    exactly_once = r["sent"] == r["stored"] == r["distinct"] == r["answered"] and r["threads"] == conversations
    exactly_once = exactly_once and r["posted"] == r["delivered"]
    return "\n".join(
        [
            f"## Slack events webhook — {date.today()} — {machine}",
            "",
            f"bench/webhooks_slack.py: {args.rate:g} signed events/s (open loop; {kind}) for "
            f"{args.duration:g} s after {args.warmup:g} s of warm-up against gunicorn gthread 1×32 on the apex; "
            f"{r['retried']} re-sent as Slack retries; "
            f"chat worker paused {args.pause_worker:g} s mid-run. PostgreSQL fsync={psql('SHOW fsync')[0][0]}, "
            f"synchronous_commit={psql('SHOW synchronous_commit')[0][0]}. Load generator, fake LLM and Slack double "
            "on the same machine, shared with other engineers' test runs.",
            "",
            "| requests | throughput req/s | ack p50 / p95 / p99 / max ms | statuses | events stored / answered | "
            "posts on the double / sent deliveries | threads answered | drain s |",
            "|---:|---:|---:|---|---:|---:|---:|---:|",
            f"| {requests} | {requests / r['wall']:.0f} | {ms(lat, 50):.1f} / {ms(lat, 95):.1f} / {ms(lat, 99):.1f} / "
            f"{max(lat) * 1000 if lat else float('nan'):.0f} | {dict(r['statuses'])} | {r['stored']} / "
            f"{r['answered']} of {r['sent']} | {r['posted']} / {r['delivered']} | {r['threads']} | {r['drain']:.1f} |",
            "",
            "CPU ms per request during the load (web / chat worker / postgres / redis): "
            + " / ".join(f"{r['cpu'][name] / max(requests, 1):.1f}" for name in ("web", "worker", "postgres", "redis"))
            + ".",
            "",
            f"Every event stored once and answered once: {'yes' if exactly_once else 'NO'} (retries answered as "
            f"duplicates: {r['duplicates']} of {r['retried']}; the demo bot's seed greeting is a second post per "
            "thread, counted in the deliveries).",
        ]
    )


if __name__ == "__main__":
    main()

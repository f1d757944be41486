"""Telegram webhook acknowledgement latency at a sustained rate, through real processes: gunicorn (gthread, as
infra/dev/Procfile) serving the team host's ``/api/channels/<id>/telegram/``, the gevent chat worker (typing
actions, turns and reply sends), PostgreSQL, Redis, the loopback fake LLM (instant replies) and the loopback Bot
API double (``tests/fakes/telegram_api.py``, in its own process; the channel's ``setWebhook`` goes to it too).

Open loop: ``--rate`` updates per second (each a text message from a new chat) with the channel's
``X-Telegram-Bot-Api-Secret-Token`` for ``--duration`` seconds, each on its own schedule whatever the server's
pace; ``--retries`` of them are delivered again (the same update, as Telegram redelivers). Reported: ack latency
(request → 200) p50/p95/p99/max, the rate achieved, errors, then, once the worker has drained: every message
answered exactly once (one stored message per update, one sent delivery per reply and as many ``sendMessage``
calls on the double as sent deliveries; status -1 counts requests still unanswered a minute after the load
ended, which were abandoned). At most 400 requests are in flight; a request's latency counts from when it was
due. ``--pause-worker S`` stops the chat worker (SIGSTOP) for S seconds in the
middle: acks must stay fast and every message must still be answered after it resumes.

Throwaway database ``bench_webhooks_telegram`` (``BENCH_WEBHOOKS_DB``) and Redis db 13 are created and dropped;
logs in var/bench-turns-*.log. Usage:

    .venv/bin/python bench/webhooks_telegram.py [--rate 200] [--duration 15] [--retries 0.05] [--pause-worker 0]
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

from bench.turns import GUNICORN, REDIS, SERVER, Stack, free_port, psql, reset  # noqa: E402
from tests.fakes.telegram_api import TELEGRAM_TOKEN  # noqa: E402

DB = os.environ.get("BENCH_WEBHOOKS_DB", "bench_webhooks_telegram")
ENV = {
    "PYTHONUNBUFFERED": "1",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DATABASE_URL": f"{SERVER}/{DB}",
    "REDIS_URL": f"{REDIS}/13",
    "CACHE_KEY_PREFIX": "benchtelegram",
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
    provider = provider_create(kind=ProviderKind.MESSAGING, type="telegram", name="bench telegram", config={{}},
                               secrets={{"bot_token": "{TELEGRAM_TOKEN}"}})
    channel = channel_create(chatbot=bot, kind="telegram", name="bench", provider=provider)
    print("CHANNEL", channel.public_id, channel.secrets.reveal()["webhook_secret"])
"""
# Per update: stored once (distinct message ids), and its reply delivered; and every delivery marked sent, to
# compare with what the double received (a reply sent twice would make more sends than sent deliveries).
COUNT_SQL = """SELECT count(*), count(DISTINCT m.external_id), count(d.id) FILTER (WHERE d.status = 'sent'),
(SELECT count(*) FROM t_demo.channels_delivery WHERE status = 'sent')
FROM t_demo.conversations_chatmessage m JOIN t_demo.conversations_chatsession s ON s.id = m.session_id
LEFT JOIN t_demo.conversations_chatmessage r ON r.reply_to_id = m.id
LEFT JOIN t_demo.channels_delivery d ON d.message_id = r.id
WHERE s.platform = 'telegram' AND m.role = 'user' AND NOT m.hidden"""


def update(n: int, run: int) -> dict:
    chat = run + n
    return {
        "update_id": run + n,
        "message": {
            "message_id": 1, "date": int(time.time()), "text": f"question {n}",
            "from": {"id": chat, "is_bot": False, "first_name": "Bench", "last_name": str(n)},
            "chat": {"id": chat, "first_name": "Bench", "last_name": str(n), "type": "private"},
        },
    }  # fmt: skip


async def load(args: argparse.Namespace, url: str, host: str, secret: str, on_half: object) -> dict:
    import httpx

    run = random.randrange(10**6) * 10**4
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret, "Host": host}

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        in_flight = asyncio.Semaphore(400)

        async def one(n: int, retry: bool) -> None:
            if retry:
                await asyncio.sleep(1.5)  # Telegram redelivers what got no quick 2xx
            due = time.perf_counter()  # latency counts from when the request was due (waiting for a slot included)
            async with in_flight:
                try:
                    response = await client.post(url, content=json.dumps(update(n, run)).encode(), headers=headers)
                except httpx.HTTPError:
                    statuses[0] += 1
                    return
            latencies.append(time.perf_counter() - due)
            statuses[response.status_code] += 1

        total = int(args.rate * args.duration)
        interval = 1.0 / args.rate
        tasks = []
        start = time.perf_counter()
        paused = False
        for n in range(total):
            due = start + n * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not paused and n >= total // 2 - int(args.rate * args.pause_worker / 2):
                paused = True
                on_half()  # type: ignore[operator]
            tasks.append(asyncio.create_task(one(n, False)))
            if n and random.random() < args.retries:
                tasks.append(asyncio.create_task(one(n - 1, True)))
        _done, late = await asyncio.wait(tasks, timeout=args.duration + 60)  # a server far behind: stop waiting
        for task in late:
            task.cancel()
        statuses[-1] += len(late)  # -1: never answered within the run
        wall = time.perf_counter() - start
    return {"sent": total, "retried": len(tasks) - total, "wall": wall, "latencies": latencies, "statuses": statuses}


def sent_to(port: int) -> list[dict]:
    """What the Bot API double was sent (its own ``/_sent``)."""
    from urllib.request import urlopen

    with urlopen(f"http://127.0.0.1:{port}/_sent", timeout=10) as answer:
        return list(json.loads(answer.read())["sent"])


def ms(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200, help="updates per second (open loop)")
    parser.add_argument("--duration", type=float, default=15, help="seconds of load")
    parser.add_argument("--retries", type=float, default=0.05, help="share of updates delivered again")
    parser.add_argument("--pause-worker", type=float, default=0, help="SIGSTOP the chat worker this long mid-run")
    parser.add_argument("--drain", type=float, default=180, help="seconds to wait for every reply")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    port, llm_port, telegram_port = free_port(), free_port(), free_port()
    reset(DB, ENV["REDIS_URL"], create=True)
    stack = Stack(
        {
            **ENV,
            "SITE_PORT": str(port),
            "LOCAL_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
            "TELEGRAM_API_URL": f"http://127.0.0.1:{telegram_port}",
        }
    )
    try:
        stack.start("fake-llm", sys.executable, "-m", "tests.fakes.llm_server", "--port", str(llm_port), "--no-record")
        stack.start("telegram-double", sys.executable, "-m", "tests.fakes.telegram_api", "--port", str(telegram_port))
        stack.run(sys.executable, "manage.py", "migrate_teams", "-v", "0")
        stack.run(sys.executable, "manage.py", "setup_demo")
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=stack.env, capture_output=True,
            text=True, check=True,
        ).stdout  # fmt: skip
        found = re.search(r"^CHANNEL (\S+) (\S+)$", out, re.M)
        assert found, out
        public_id, secret = found.groups()
        stack.start("telegram-web", *GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}")
        chat = stack.start(
            "telegram-chat", sys.executable, "-m", "celery", "-A", "config", "worker", "-n", "chat@benchtelegram",
            "-Q", "chat", "-P", "gevent", "--concurrency", "1000", "--without-gossip", "--without-mingle",
            "--loglevel", "WARNING",
        )  # fmt: skip
        stack.wait_http(f"http://127.0.0.1:{port}/healthz", f"localhost:{port}")
        time.sleep(3)  # the worker connects to the broker

        def pause() -> None:
            if args.pause_worker > 0:
                os.killpg(chat, signal.SIGSTOP)
                print(f"chat worker stopped for {args.pause_worker:g} s", flush=True)
                signal.setitimer(signal.ITIMER_REAL, args.pause_worker)

        signal.signal(signal.SIGALRM, lambda *_: (os.killpg(chat, signal.SIGCONT), print("chat worker resumed")))
        url = f"http://127.0.0.1:{port}/api/channels/{public_id}/telegram/"
        result = asyncio.run(load(args, url, f"demo.localhost:{port}", secret, pause))
        began = time.perf_counter()
        while time.perf_counter() - began < args.drain and psql(COUNT_SQL, DB)[0][2] < result["sent"]:
            time.sleep(0.5)
        result["drain"] = time.perf_counter() - began
        time.sleep(2)  # anything sent twice would show now
        sent = sent_to(telegram_port)
        stored, distinct, answered, delivered = psql(COUNT_SQL, DB)[0]
    finally:
        stack.stop()
        reset(DB, ENV["REDIS_URL"], create=False)
    result.update(posted=len(sent), chats=len({p.get("chat_id") for p in sent}))
    result.update(stored=stored, distinct=distinct, answered=answered, delivered=delivered)
    print(report(args, result))


def report(args: argparse.Namespace, r: dict) -> str:
    model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    machine = f"{model.group(1).strip() if model else platform.machine()}, {os.cpu_count()} CPUs"
    lat = r["latencies"]
    requests = r["sent"] + r["retried"]
    exactly_once = r["sent"] == r["stored"] == r["distinct"] == r["answered"] == r["chats"]
    exactly_once = exactly_once and r["posted"] == r["delivered"]
    return "\n".join(
        [
            f"## Telegram webhook — {date.today()} — {machine}",
            "",
            f"bench/webhooks_telegram.py: {args.rate:g} updates/s with the secret header (open loop, each a new "
            f"chat) for {args.duration:g} s against gunicorn gthread 1×32 on the team host; {r['retried']} "
            f"delivered again as Telegram redeliveries; chat worker paused {args.pause_worker:g} s mid-run. "
            f"PostgreSQL fsync={psql('SHOW fsync')[0][0]}, synchronous_commit={psql('SHOW synchronous_commit')[0][0]}. "
            "Load generator, fake LLM and Bot API double on the same machine, shared with other engineers' test runs.",
            "",
            "| requests | achieved req/s | ack p50 / p95 / p99 / max ms | statuses | updates stored / answered | "
            "sendMessage on the double / sent deliveries | chats answered | drain s |",
            "|---:|---:|---:|---|---:|---:|---:|---:|",
            f"| {requests} | {requests / r['wall']:.0f} | {ms(lat, 50):.1f} / {ms(lat, 95):.1f} / {ms(lat, 99):.1f} / "
            f"{max(lat) * 1000 if lat else float('nan'):.0f} | {dict(r['statuses'])} | {r['stored']} / "
            f"{r['answered']} of {r['sent']} | {r['posted']} / {r['delivered']} | {r['chats']} | {r['drain']:.1f} |",
            "",
            f"Every update stored once and answered once: {'yes' if exactly_once else 'NO'} (the demo bot's seed "
            "greeting is a second sendMessage per chat, counted in the deliveries).",
        ]
    )


if __name__ == "__main__":
    main()

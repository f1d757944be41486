"""Twilio WhatsApp / SMS webhooks under load, through real processes: gunicorn (gthread) serving the channel's
webhook on the team host, the gevent chat worker (turns and the REST API sends through the ``twilio`` client),
PostgreSQL, Redis, the loopback fake LLM (answers at once: "Echo: <text>") and the Twilio REST API double
(tests/fakes/twilio_api.py, its own process, logging each send).

An open-loop load generator posts form-encoded requests signed with the official
``twilio.request_validator.RequestValidator.compute_signature`` (``X-Twilio-Signature``) at a fixed rate: each a new
``MessageSid`` with a unique text from one of a pool of participants, plus a share of redeliveries (the same
request again). Reported: the acknowledgement latency p50/p95/max as the client saw it, errors,
and after the run whether every message was answered exactly once on the Twilio double (none lost, none twice; the
redeliveries gave no reply). ``--pause-worker N`` stops the chat worker (SIGSTOP) for N seconds in the middle of the
run: acknowledgements must stay fast, and every message must still be answered once it resumes.

Throwaway database ``bench_webhooks_twilio`` and a Redis db (``BENCH_REDIS_SERVER``, else ``TEST_REDIS_SERVER``, db
13) are created and dropped; logs in var/bench-turns-webhooks-twilio-*.log. Usage:

    .venv/bin/python bench/webhooks_twilio.py [--rate 200] [--duration 15] [--pause-worker 0] [--replays 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_REDIS_SERVER", os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379"))

from twilio.request_validator import RequestValidator  # noqa: E402

from bench.turns import GUNICORN, REDIS, SERVER, TICK_MS, Stack, cpu_snapshot, free_port, psql, reset  # noqa: E402

DB = "bench_webhooks_twilio"
ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-twilio-auth-token-0123456789"
NUMBER = "+14155238886"
ENV = {
    "PYTHONUNBUFFERED": "1",
    "DEBUG": "false",
    "LOG_LEVEL": "WARNING",
    "DJANGO_SETTINGS_MODULE": "config.settings.local",
    "DATABASE_URL": f"{SERVER}/{DB}",
    "REDIS_URL": f"{REDIS}/13",
    "CACHE_KEY_PREFIX": "benchtwilio",
    "LOCAL_LLM": "0",
    "LOCAL_LLM_MODEL": "fake-model",
    "RATE_LIMITS_ENABLED": "false",
}
SETUP = f"""
from tenants.context import tenant_context
from tenants.models import Team
from tenant_apps.chatbots.models import Chatbot
from tenant_apps.channels.services import channel_create
from tenant_apps.providers.services import provider_create
with tenant_context(Team.objects.get(slug="demo")):
    bot = Chatbot.objects.exclude(published_version=None).order_by("id").first()
    twilio = provider_create(kind="messaging", type="twilio", name="Bench Twilio",
        config={{"account_sid": "{ACCOUNT_SID}"}}, secrets={{"auth_token": "{AUTH_TOKEN}"}})
    channel = channel_create(chatbot=bot, kind=KIND, name="bench", provider=twilio,
        config={{"phone_number": "{NUMBER}"}})
    print("READY", channel.public_id)
"""
VALIDATOR = RequestValidator(AUTH_TOKEN)
FORM = "application/x-www-form-urlencoded"


def signed_form(n: int, participant: str, url: str, whatsapp: bool) -> tuple[str, str]:
    prefix = "whatsapp:" if whatsapp else ""
    sid = f"SM{n:032x}"
    params = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": f"hello {n}",
        "To": prefix + NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": prefix + participant,
        "ApiVersion": "2010-04-01",
    }
    if whatsapp:
        params.update({"ProfileName": f"Bench {participant}", "WaId": participant[1:], "MessageType": "text"})
    return urlencode(params), VALIDATOR.compute_signature(url, params)


async def load(
    args: argparse.Namespace, rate: float, first: int, url: str, public_url: str, host: str, pause: Any
) -> dict:
    import httpx

    total = int(rate * args.duration)
    participants = max(1, total // 5)  # each participant writes about five times over the run
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    sent: list[int] = []
    replays = 0
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=args.connections)
    # Requests beyond the connections wait here, not in httpcore's pool (whose queue is scanned per request: with
    # thousands waiting on a slow server the client itself spins). The latency counts from when a request was due,
    # so that wait is in it (no coordinated omission).
    gate = asyncio.Semaphore(args.connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def post(body: str, signature: str, due: float) -> None:
            headers = {"Host": host, "Content-Type": FORM, "X-Twilio-Signature": signature}
            async with gate:
                try:
                    response = await client.post(url, content=body, headers=headers)
                    statuses[response.status_code] += 1
                except httpx.HTTPError:
                    statuses[0] += 1
                    return
            latencies.append(time.perf_counter() - due)

        tasks = []
        start = time.perf_counter()
        paused = False
        for n in range(total):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if args.pause_worker and not paused and n >= total * args.pause_at:
                paused = True
                tasks.append(asyncio.create_task(pause(args.pause_worker)))
            body, signature = signed_form(first + n, f"+1555{n % participants:07d}", public_url, args.whatsapp)
            sent.append(n)
            tasks.append(asyncio.create_task(post(body, signature, due)))
            if args.replays and n and (n * args.replays) % 1 < args.replays:  # about that share, spread evenly
                earlier = sent[(n * 7919) % len(sent)]
                body, signature = signed_form(
                    first + earlier, f"+1555{earlier % participants:07d}", public_url, args.whatsapp
                )
                replays += 1
                tasks.append(asyncio.create_task(post(body, signature, due)))
        wall = time.perf_counter() - start
        await asyncio.gather(*tasks)
    return {"latencies": latencies, "statuses": statuses, "messages": total, "replays": replays, "wall": wall,
            "rate": rate, "first": first}  # fmt: skip


def answered(log: Path) -> Counter[int]:
    counts: Counter[int] = Counter()
    lines = log.read_bytes().splitlines() if log.exists() else []
    for form in (json.loads(line) for line in lines if line.strip()):
        found = re.fullmatch(r"Echo: hello (\d+)", form.get("Body", ""))
        if found:
            counts[int(found.group(1))] += 1
    return counts


def ms(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rate", default="200", help="signed requests per second, a level each (e.g. 100,200)")
    parser.add_argument("--duration", type=float, default=15, help="seconds of load (default 15)")
    parser.add_argument("--replays", type=float, default=0.05, help="share of redelivered bodies (default 0.05)")
    parser.add_argument("--pause-worker", type=float, default=0, help="stop the chat worker this long mid-run")
    parser.add_argument("--pause-at", type=float, default=1 / 3, help="when the stop starts (share of the run)")
    parser.add_argument("--connections", type=int, default=256, help="client connections (default 256)")
    parser.add_argument("--sms", dest="whatsapp", action="store_false", help="an SMS channel (default WhatsApp)")
    parser.add_argument("--chat-concurrency", type=int, default=200, help="gevent greenlets of the chat worker")
    parser.add_argument("--answer-timeout", type=float, default=300, help="seconds to wait for every reply")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # TERM also stops the stack (the finally below)
    port, llm_port = free_port(), free_port()
    reset(DB, ENV["REDIS_URL"], create=True)
    twilio_port, log = free_port(), ROOT / "var" / "bench-webhooks-twilio-sent.jsonl"
    log.unlink(missing_ok=True)
    kind = '"twilio_whatsapp"' if args.whatsapp else '"twilio_sms"'
    stack = Stack(
        {
            **ENV,
            "SITE_PORT": str(port),
            "LOCAL_LLM_BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
            "TWILIO_API_URL": f"http://127.0.0.1:{twilio_port}",
        }
    )
    try:
        double = ["-m", "tests.fakes.twilio_api", "--port", str(twilio_port), "--account-sid", ACCOUNT_SID]
        stack.start("webhooks-twilio-api", sys.executable, *double, "--auth-token", AUTH_TOKEN, "--log", str(log))
        fake = [sys.executable, "-m", "tests.fakes.llm_server", "--port", str(llm_port), "--no-record"]
        stack.start("webhooks-twilio-llm", *fake)
        stack.run(sys.executable, "manage.py", "migrate_teams", "-v", "0")
        stack.run(sys.executable, "manage.py", "setup_demo")
        out = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SETUP.replace("KIND", kind)], cwd=ROOT, env=stack.env,
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "READY" in out, out
        public_id = out.split("READY", 1)[1].split()[0]
        web = stack.start("webhooks-twilio-web", *GUNICORN, "config.wsgi", "--bind", f"127.0.0.1:{port}")
        chat = stack.start(
            "webhooks-twilio-chat", sys.executable, "-m", "celery", "-A", "config", "worker", "-n", "chat@benchtwilio",
            "-Q", "chat", "-P", "gevent", "--concurrency", str(args.chat_concurrency), "--without-gossip",
            "--without-mingle", "--loglevel", "WARNING",
        )  # fmt: skip
        stack.wait_http(f"http://127.0.0.1:{port}/healthz", f"localhost:{port}")
        host, path = f"demo.localhost:{port}", f"/api/channels/{public_id}/twilio/"
        time.sleep(3)  # the worker connects

        async def pause(seconds: float) -> None:
            os.killpg(chat, signal.SIGSTOP)
            try:
                await asyncio.sleep(seconds)
            finally:
                os.killpg(chat, signal.SIGCONT)

        rows, first = [], 0
        for rate in [float(r) for r in args.rate.split(",")]:
            url, public_url = f"http://127.0.0.1:{port}{path}", f"http://{host}{path}"
            before, since = cpu_snapshot({"web": web, "worker": chat}, DB, [os.getpid()]), time.monotonic()
            result = asyncio.run(load(args, rate, first, url, public_url, host, pause))
            after = cpu_snapshot({"web": web, "worker": chat}, DB, [os.getpid()])
            result["cpu"] = {
                name: sum(t - before[name].get(pid, 0) for pid, t in after[name].items()) * TICK_MS
                for name in ("web", "worker", "postgres", "redis", "loadgen", "machine")
            }
            result["cpu_wall"] = time.monotonic() - since
            expected = range(first, first + result["messages"])
            began = time.monotonic()
            while time.monotonic() - began < args.answer_timeout:
                done = answered(log)
                if all(n in done for n in expected):
                    break
                time.sleep(0.5)
            settle = time.monotonic() - began
            time.sleep(2)  # a second reply, if there were one, would come now
            counts = answered(log)
            rows.append((result, Counter({n: counts[n] for n in expected if counts[n]}), settle))
            print(row(*rows[-1]), flush=True)
            first += result["messages"]
    finally:
        stack.stop()
        reset(DB, ENV["REDIS_URL"], create=False)
    print(report(args, rows))


def row(result: dict, counts: Counter[int], settle: float) -> str:
    lat = result["latencies"]
    achieved = (result["messages"] + result["replays"]) / max(result["wall"], 1e-9)
    return (
        f"| {result['rate']:g} ({achieved:.0f}) | {len(lat)} | {ms(lat, 50):.1f} / {ms(lat, 95):.1f} / "
        f"{max(lat) * 1000 if lat else float('nan'):.0f} | {dict(sorted(result['statuses'].items()))} | "
        f"{result['messages']} | {result['replays']} | {sum(1 for c in counts.values() if c == 1)} | "
        f"{result['messages'] - len(counts)} | {sum(1 for c in counts.values() if c > 1)} | {settle:.1f} s | "
        + " / ".join(f"{result['cpu'][name] / max(len(lat), 1):.1f}" for name in ("web", "worker", "postgres"))
        + f" | {result['cpu']['machine'] / 1000 / max(result['cpu_wall'], 1e-9) / (os.cpu_count() or 1):.0%} |"
    )


def report(args: argparse.Namespace, rows: list[tuple[dict, Counter[int], float]]) -> str:
    model = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    machine = f"{model.group(1).strip() if model else platform.machine()}, {os.cpu_count()} CPUs"
    sync, fsync = psql("SHOW synchronous_commit")[0][0], psql("SHOW fsync")[0][0]
    return "\n".join(
        [
            f"## Twilio {'WhatsApp' if args.whatsapp else 'SMS'} webhooks — {date.today()} — {machine}",
            "",
            f"bench/webhooks_twilio.py: Twilio webhooks signed with RequestValidator at a fixed offered rate for "
            f"{args.duration:g} s per level ({args.replays:.0%} redeliveries of earlier bodies) against gunicorn "
            f"gthread 1×32 + the gevent chat worker (turns, REST API sends to the double); fake LLM answering at "
            f"once. PostgreSQL fsync={fsync}, synchronous_commit={sync}."
            + (
                f" Chat worker stopped (SIGSTOP) for {args.pause_worker:g} s from {args.pause_at:.0%} into each level."
                if args.pause_worker
                else ""
            )
            + " Load generator, fake LLM and Twilio double on the same (shared, busy) machine.",
            "",
            "| offered (achieved) req/s | requests | ack p50 / p95 / max ms | statuses | messages | redeliveries | "
            "answered once | unanswered at timeout | answered twice | all answered after | CPU ms/request web / chat "
            "worker / postgres | machine busy |",
            "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            *(row(*r) for r in rows),
            "",
        ]
    )


if __name__ == "__main__":
    main()

"""The whole product, running: a fresh database, gunicorn, a Celery worker, and headless Chromium driving it.

The stack is built once per session: ``migrate_teams`` and ``setup_demo`` (the same commands ``make run`` uses)
against a throwaway database, then the web server and a worker as real processes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.fakes.llm_server import FakeLlmServer
from tests.fakes.stripe_server import FakeStripeServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Stack:
    port: int
    stream_port: int
    env: dict[str, str]
    mail_dir: Path
    logs: Path
    fake_llm: FakeLlmServer
    stripe: FakeStripeServer

    def url(self, path: str = "/", team: str | None = None) -> str:
        host = f"{team}.localhost" if team else "localhost"
        return f"http://{host}:{self.port}{path}"

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    """Until ``url`` answers 200: a generous ceiling, since a busy machine can take long to boot the stack."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with run_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@contextlib.contextmanager
def run_stack(base: Path, *, worker: bool = True) -> Iterator[Stack]:
    """Fresh database, migrations and demo data, gunicorn (and a worker), the fake LLM; torn down after.
    Also used by bench/editor_load.py."""
    db_name = f"e2e_chatstudio_{os.getpid()}"
    server = os.environ.get("E2E_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
    port = _free_port()
    stream_port = _free_port()
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"{server}/{db_name}",
        REDIS_URL=os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379") + "/13",
        CACHE_KEY_PREFIX=f"e2e{os.getpid()}",
        SITE_PORT=str(port),
        CHAT_STREAM_PORT=str(stream_port),
        EMAIL_FILE_PATH=str(base / "mail"),
        TEAM_EXPORT_ROOT=str(base / "exports"),
        DEBUG="false",
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    # The demo team's LLM provider points at a loopback fake (the real local model is never built in tests).
    fake_llm = FakeLlmServer().start()
    env.update(LOCAL_LLM_BASE_URL=fake_llm.openai_base_url, LOCAL_LLM_MODEL="fake-model", LOCAL_LLM="0")
    # Where the local model would report its progress: absent (no banner) unless a test writes it.
    env.update(LOCAL_LLM_STATUS_FILE=str(base / "local-llm.json"))

    # Billing is on, against the loopback Stripe double, which signs its webhooks to the apex like Stripe.
    stripe = FakeStripeServer(
        webhook_url=f"http://localhost:{port}/billing/stripe/webhook/", webhook_secret="whsec_e2e_double"
    ).start()
    env.update(
        STRIPE_SECRET_KEY="sk_test_e2e_double",
        STRIPE_WEBHOOK_SECRET="whsec_e2e_double",
        STRIPE_API_BASE=stripe.url,
        STRIPE_PRICES="pro=price_pro_flat+price_pro_metered,business=price_business_flat",
    )
    env.update(E2E_EXTRA_ENV)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    stack = Stack(
        port=port, stream_port=stream_port, env=env, mail_dir=base / "mail", logs=base, fake_llm=fake_llm, stripe=stripe
    )
    processes: list[subprocess.Popen] = []
    try:
        stack.manage("migrate_teams", "-v", "0")
        stack.manage("setup_demo")
        stack.manage("set_plan", "--team", "demo", "--plan", "business")  # the journeys are not about limits
        web_log = base / "web.log"
        processes.append(
            subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "gunicorn"),
                    "config.wsgi",
                    "-k",
                    "gthread",
                    "--workers",
                    "1",
                    "--threads",
                    "32",  # as infra/dev/Procfile: more than CHAT_LONG_POLL_SLOTS (24)
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--bind",
                    f"[::1]:{port}",
                    "--no-control-socket",  # its default path is shared by every run on the machine
                ],
                cwd=ROOT,
                env=env,
                stdout=web_log.open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        worker_log = base / "worker.log"
        processes.extend(
            []
            if not worker
            else [
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "worker",
                        "-Q",
                        "chat,pipelines,maintenance",
                        "--concurrency",
                        "2",
                        "--loglevel",
                        "WARNING",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=worker_log.open("wb"),
                    stderr=subprocess.STDOUT,
                )
            ]
        )
        stream_log = base / "stream.log"
        stream_args = ["config.asgi:application", "--host", "127.0.0.1", "--port", str(stream_port)]
        processes.append(
            subprocess.Popen(
                [str(Path(sys.executable).parent / "uvicorn"), *stream_args, "--log-level", "warning"],
                cwd=ROOT,
                env=env,
                stdout=stream_log.open("wb"),
                stderr=subprocess.STDOUT,
            )
        )
        _wait_http(stack.url("/healthz"), processes[0], web_log)
        _wait_http(f"http://127.0.0.1:{stream_port}/healthz", processes[-1], stream_log)
        yield stack
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        fake_llm.stop()
        stripe.stop()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


# Environment for the stack that later features need (e.g. a fake LLM URL); filled by their fixtures' modules.
E2E_EXTRA_ENV: dict[str, str] = {}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    context.set_default_timeout(60_000)  # a ceiling for busy machines; waits end as soon as the condition holds
    page = context.new_page()
    yield page
    context.close()


def login(page: object, stack: Stack, email: str, password: str) -> None:
    page.goto(stack.url("/accounts/login/"))  # type: ignore[attr-defined]
    page.fill("input[name=login]", email)  # type: ignore[attr-defined]
    page.fill("input[name=password]", password)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _model_profile_reset(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that gives the shared stack's fake model a latency profile (streaming) does not pass it on."""
    yield
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack").fake_llm.profile = None

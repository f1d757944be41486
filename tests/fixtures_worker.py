"""Real Celery worker processes for tests whose behaviour depends on them (schema headers, retries, queues), laid
out as in production (infra/dev/Procfile): a prefork worker for ``pipelines`` and ``maintenance`` and a gevent
worker for ``chat`` whose turns share a small connection pool (ADR 0090)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
CHAT_WORKER_CONCURRENCY = 500
CHAT_WORKER_POOL = 4  # PostgreSQL connections of the chat worker (the machine's server is shared)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Where the messaging platforms' loopback doubles listen in this test run (settings.PLATFORM_API_URLS' keys), fixed
# at the run's start so a session's worker processes send to them: a test starts a platform's double on its port
# (``LoopbackServer(routes, port=PLATFORM_DOUBLE_PORTS[name])``) and the ``platform_doubles`` fixture points the
# test process's settings at the same URLs.
PLATFORM_DOUBLE_PORTS = {name: _free_port() for name in ("telegram", "twilio", "slack", "meta_graph")}
_PLATFORM_SUFFIX = {"telegram": "", "twilio": "", "slack": "/api/", "meta_graph": "/v25.0"}
_PLATFORM_ENV = {
    "telegram": "TELEGRAM_API_URL",
    "twilio": "TWILIO_API_URL",
    "slack": "SLACK_API_URL",
    "meta_graph": "META_GRAPH_API_URL",
}


def platform_double_urls() -> dict[str, str]:
    return {name: f"http://127.0.0.1:{port}{_PLATFORM_SUFFIX[name]}" for name, port in PLATFORM_DOUBLE_PORTS.items()}


@pytest.fixture
def platform_doubles(settings: object) -> dict[str, int]:
    """This process's senders call the run's platform doubles (as the live workers do); yields their ports."""
    settings.PLATFORM_API_URLS = platform_double_urls()  # type: ignore[attr-defined]
    return PLATFORM_DOUBLE_PORTS


def worker_env() -> dict[str, str]:
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({_PLATFORM_ENV[name]: url for name, url in platform_double_urls().items()})
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CACHE_KEY_PREFIX=settings.CACHES["default"]["KEY_PREFIX"],
        PYTHONUNBUFFERED="1",
    )
    return env


def _celery(name: str, queues: str, *pool: str) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "tests.fakes.worker_app", "worker", "-n", f"{name}@%h", "-Q", queues,
        *pool, "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def live_worker(
    django_db_setup: None, django_db_blocker: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen]:
    """Start the workers against the test database; stop them at the end of the session. Yields the chat worker."""
    from config.celery import app

    logs = tmp_path_factory.mktemp("worker")
    commands = {
        "worker": _celery("worker", "pipelines,maintenance", "--concurrency", "2"),
        "chat": _celery("chat", "chat", "-P", "gevent", "--concurrency", str(CHAT_WORKER_CONCURRENCY)),
    }
    env = {**worker_env(), "DB_POOL_MAX_SIZE": str(CHAT_WORKER_POOL), "DB_POOL_MIN_SIZE": "1"}
    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        with open(logs / f"{name}.log", "wb") as out:
            process_env = env if name == "chat" else worker_env()
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=process_env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180  # a ceiling: a worker booting on a busy machine can take half a minute
    answered: set[str] = set()
    while time.monotonic() < deadline and len(answered) < len(processes):
        for name, process in processes.items():
            if process.poll() is not None:
                for other in processes.values():
                    _stop(other)
                raise RuntimeError(f"Celery {name} exited early:\n{(logs / f'{name}.log').read_text()[-3000:]}")
        for reply in app.control.ping(timeout=0.5):
            answered.update(node.split("@", 1)[0] for node in reply)
    if len(answered) < len(processes):
        for process in processes.values():
            _stop(process)
        raise RuntimeError(f"Celery workers did not all answer a ping in 180 s (answered: {sorted(answered)})")
    yield processes["chat"]
    for process in processes.values():
        _stop(process)

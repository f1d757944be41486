"""Signup submit -> team home ready, over HTTP against the running product, with many existing teams.

    .venv/bin/python bench/signup.py [--teams 1000] [--signups 20] [--no-append]

What it does, all by itself:

1. creates a throwaway database, migrates it (``migrate_teams``) and creates the public site (``setup_demo``);
2. creates ``--teams`` teams the way production does (row + domain + schema cloned from the template), so the
   catalog, the domain table and the host cache are as big as on a busy server;
3. starts the web server (gunicorn) and a Celery worker, as ``make run`` does;
4. runs ``--signups`` signups the way a browser does, timing each from the moment the signup form is submitted
   to the moment the new team's home page answers 200 on ``<slug>.localhost``: submit, open the verification
   link from the dev mailbox at once (no human think time), confirm, load the setup page, poll it like htmx
   does (every 500 ms while provisioning), follow the handoff to the team host, load the team home;
5. prints the figures and appends them, with the machine and date, to bench/RESULTS.md.

Rate limits are switched off for the run (``RATE_LIMITS_ENABLED=false``): 20 signups from one address would
otherwise trip the signup limit, which is the point of that limit.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-12345"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


# ------------------------------------------------------------------------------
# Step 2 runs inside Django (a child process with the bench environment)
# ------------------------------------------------------------------------------


def populate(count: int) -> None:
    """Create ``count`` active teams by clone; prints the seconds it took."""
    import django

    django.setup()
    from tenants.lifecycle import team_provision
    from tenants.models import Team
    from tenants.services.teams import team_create

    existing = Team.objects.filter(slug__startswith="existing-").count()
    start = time.perf_counter()
    for n in range(existing, count):
        team = team_create(name=f"Existing {n:04d}", slug=f"existing-{n:04d}", provision_async=False)
        team_provision(team_id=team.pk, method="clone")
    print(f"{time.perf_counter() - start:.1f}")


# ------------------------------------------------------------------------------
# Step 4: a browser-like HTTP client (one cookie jar per host, hosts resolved to 127.0.0.1)
# ------------------------------------------------------------------------------


class Host:
    def __init__(self, port: int, host: str) -> None:
        import httpx

        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{port}", headers={"Host": f"{host}:{port}"}, timeout=30, follow_redirects=False
        )
        self.port = port

    def csrf(self) -> str:
        return str(self.client.cookies.get("csrftoken", ""))

    def get(self, path: str, **kw: object):  # type: ignore[no-untyped-def]
        return self.client.get(path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        headers = {"X-CSRFToken": self.csrf(), "Referer": f"http://localhost:{self.port}/"}
        return self.client.post(path, data=data or {}, headers=headers)


def _local(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def _confirm_path(mail_dir: Path, email: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    pattern = re.compile(r"http://localhost:\d+(/accounts/confirm-email/[^/\s]+/)")
    while time.monotonic() < deadline:
        for path in mail_dir.glob("*.log"):
            text = path.read_text(errors="replace")
            if f"To: {email}" in text:
                match = pattern.search(text)
                if match:
                    return match.group(1)
        time.sleep(0.005)
    raise RuntimeError(f"no verification mail for {email}")


@dataclass
class Timing:
    total: float
    submit: float
    polls: int


def one_signup(port: int, mail_dir: Path, tag: str) -> Timing:
    apex = Host(port, "localhost")
    slug = f"bench-{os.getpid()}-{tag}"
    email = f"{slug}@bench.test"
    apex.get("/accounts/signup/")  # the page the form is on (sets the CSRF cookie); not timed

    start = time.perf_counter()
    response = apex.post(
        "/accounts/signup/",
        {
            "email": email,
            "organisation": f"Bench {tag}",
            "subdomain": slug,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    submit = time.perf_counter() - start
    if response.status_code != 302:
        raise RuntimeError(f"signup failed ({response.status_code}): {response.text[:500]}")

    response = apex.post(_confirm_path(mail_dir, email))
    setup = _local(response.headers["location"])
    page = apex.get(setup)
    polls = 0
    if 'data-status="active"' not in page.text:
        time.sleep(0.5)  # htmx: hx-trigger="every 500ms"
    while True:
        polls += 1
        status = apex.get(setup + "status/", headers={"HX-Request": "true"})
        if "hx-redirect" in status.headers:
            break
        if 'data-status="failed"' in status.text:
            raise RuntimeError(f"provisioning of {slug} failed")
        time.sleep(0.5)
    handoff = _local(apex.get(status.headers["hx-redirect"]).headers["location"])
    team = Host(port, f"{slug}.localhost")
    landed = team.get(handoff)
    home = team.get(_local(landed.headers["location"]))
    if home.status_code != 200 or "Welcome to" not in home.text:
        raise RuntimeError(f"team home of {slug} answered {home.status_code}")
    return Timing(total=time.perf_counter() - start, submit=submit, polls=polls)


# ------------------------------------------------------------------------------
# Orchestration
# ------------------------------------------------------------------------------


def _wait_http(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited early:\n{log.read_text()[-3000:]}")
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/healthz", headers={"Host": f"localhost:{port}"}, timeout=1)
            if response.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the web server did not answer in {seconds} s:\n{log.read_text()[-3000:]}")


def _provisioning_seconds(env: dict[str, str]) -> list[float]:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT EXTRACT(EPOCH FROM provisioned_at - created_at) FROM tenants_team "
            "WHERE slug LIKE 'bench-%' AND provisioned_at IS NOT NULL ORDER BY created_at"
        ).fetchall()
    return [float(r[0]) for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teams", type=int, default=1000, help="existing teams before the signups (default 1000)")
    parser.add_argument("--signups", type=int, default=20, help="timed signups (default 20)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed signups first (warm worker caches)")
    parser.add_argument("--no-append", action="store_true", help="print only; don't append to bench/RESULTS.md")
    parser.add_argument("--populate", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--db", help="use this existing database with its teams (e.g. bench/tenancy_fill.py's); kept afterwards"
    )
    args = parser.parse_args()
    if args.populate is not None:
        populate(args.populate)
        return 0

    import psycopg

    server = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
    redis = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_SERVER", "redis://127.0.0.1:6379")
    db_name = args.db or f"bench_signup_{os.getpid()}"
    port = _free_port()
    processes: list[subprocess.Popen] = []
    with TemporaryDirectory(prefix="bench-signup-") as tmp:
        base = Path(tmp)
        env = dict(os.environ)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.local",
            DATABASE_URL=f"{server}/{db_name}",
            REDIS_URL=f"{redis.rstrip('/')}/14",
            CACHE_KEY_PREFIX=f"bench{os.getpid()}",
            SITE_PORT=str(port),
            EMAIL_FILE_PATH=str(base / "mail"),
            TEAM_EXPORT_ROOT=str(base / "exports"),
            DEBUG="false",
            LOG_LEVEL="WARNING",
            RATE_LIMITS_ENABLED="false",
            TEAM_PROVISIONING_METHOD="clone",
            PYTHONUNBUFFERED="1",
        )

        def manage(*cmd: str) -> str:
            result = subprocess.run(
                [sys.executable, *cmd], cwd=ROOT, env=env, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
            return result.stdout

        if not args.db:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{db_name}"')
        try:
            print(f"database {db_name}: migrating…", flush=True)
            manage("manage.py", "migrate_teams", "-v", "0")
            manage("manage.py", "setup_demo")
            populate_seconds = 0.0
            if args.db:
                with psycopg.connect(f"{server}/{db_name}", autocommit=True) as conn:
                    row = conn.execute("SELECT count(*) FROM tenants_team WHERE schema_name <> 'public'").fetchone()
                args.teams = int(row[0]) if row else 0
                print(f"  reusing {args.teams} existing teams", flush=True)
            else:
                print(f"creating {args.teams} teams by clone…", flush=True)
                out = manage("bench/signup.py", "--populate", str(args.teams))
                populate_seconds = float(out.strip().splitlines()[-1])
                print(f"  {args.teams} teams in {populate_seconds:.1f} s", flush=True)

            web_log, worker_log = base / "web.log", base / "worker.log"
            gunicorn = str(Path(sys.executable).parent / "gunicorn")
            processes.append(
                subprocess.Popen(
                    [gunicorn, "config.wsgi", "-k", "gthread", "--workers", "2", "--threads", "4",
                     "--bind", f"127.0.0.1:{port}"],
                    cwd=ROOT, env=env, stdout=web_log.open("wb"), stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "chat,pipelines,maintenance",
                     "--concurrency", "2", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
                    cwd=ROOT, env=env, stdout=worker_log.open("wb"), stderr=subprocess.STDOUT,
                )
            )  # fmt: skip
            _wait_http(port, processes[0], web_log)

            mail_dir = base / "mail"
            for n in range(args.warmup):
                one_signup(port, mail_dir, f"w{n}")
            timings = []
            for n in range(args.signups):
                timing = one_signup(port, mail_dir, str(n))
                timings.append(timing)
                print(f"  signup {n + 1:2d}: {timing.total * 1000:6.0f} ms (submit {timing.submit * 1000:.0f} ms)")
            provisioning = _provisioning_seconds(env)[args.warmup :]
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            if not args.db:
                with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')

    totals = sorted(t.total for t in timings)
    p90 = totals[max(0, round(0.9 * len(totals)) - 1)]
    median = statistics.median(totals)
    summary = (
        f"median {median * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, min {totals[0] * 1000:.0f} ms, "
        f"max {totals[-1] * 1000:.0f} ms; submit answers in {statistics.median(t.submit for t in timings) * 1000:.0f}"
        f" ms (median); provisioning (row created -> schema ready) median "
        f"{statistics.median(provisioning) * 1000:.0f} ms; {statistics.median(t.polls for t in timings):.0f} status "
        f"poll(s) per signup (median)"
    )
    verdict = "meets" if p90 < 1 else "MISSES"
    pg = describe_pg(f"{server}/postgres")
    print(f"\n{pg}")
    print(f"Signup -> team home ready, {len(totals)} signups with {args.teams} existing teams: {summary}")
    print(f"Target p90 < 1 s: {verdict}")
    if not args.no_append:
        today = datetime.date.today().isoformat()
        entry = (
            f"\n## Signup -> team home ready ({today})\n\n"
            f"- Machine: {_machine()}; {pg}; Redis, gunicorn 2x4 threads, "
            f"Celery worker concurrency 2, provisioning by clone.\n"
            f"- Setup: {args.teams} existing teams"
            + (
                f" created by clone in {populate_seconds:.1f} s ({populate_seconds / max(args.teams, 1) * 1000:.0f} ms"
                " per team); "
                if populate_seconds
                else f" (reused database `{db_name}`, filled by bench/tenancy_fill.py); "
            )
            + f"{args.warmup} untimed warm-up signups.\n"
            f"- {len(totals)} signups, submit -> team home 200 on the team host (verification link opened at once, "
            f"setup page polled every 500 ms like htmx): **{summary}**. Target p90 < 1 s: {verdict}.\n"
            f"- Command: `.venv/bin/python bench/signup.py --teams {args.teams} --signups {args.signups}`\n"
        )
        results = ROOT / "bench" / "RESULTS.md"
        if not results.exists():
            results.write_text("# Benchmark results\n\nFigures appended by the scripts in bench/, newest last.\n")
        with results.open("a") as out:
            out.write(entry)
        print(f"Appended to {results.relative_to(ROOT)}")
    return 0 if p90 < 1 else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench.pgsettings import describe as describe_pg

    sys.exit(main())

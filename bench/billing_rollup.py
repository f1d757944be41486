"""The usage roll-up on the turn's path, in isolation: the turn's one-statement store with and without the two
usage upserts (``shared_apps.billing.metering.usage_writes``), and the turn's message load with and without the
three usage-counter subqueries (``usage_annotations``). Also: the store with the upserts from several connections
of one team at once (the roll-up rows are shared, so the upserts serialise on them).

Runs against a throwaway database it creates and drops (``bench_billing``), with the production connection
options (server-side binding, statements prepared from their 2nd run). The two variants alternate statement by
statement so machine load hits both alike. Usage:

    .venv/bin/python bench/billing_rollup.py [--turns 2000] [--threads 4]

Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432")
DB = "bench_billing"
os.environ.update(
    DJANGO_SETTINGS_MODULE="config.settings.local",
    DATABASE_URL=f"{SERVER}/{DB}",
    REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    CACHE_KEY_PREFIX="bench",
    LOG_LEVEL="ERROR",
    DEBUG="false",
)


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{SERVER}/postgres", "-qc", sql], check=True, capture_output=True)


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True, capture_output=True)


def setup() -> tuple[object, object, object]:
    import django

    django.setup()
    from tenant_apps.chatbots.services import chatbot_create
    from tenant_apps.conversations.models import ChatSession, Participant
    from tenants.context import tenant_context
    from tenants.lifecycle import team_provision
    from tenants.services.teams import public_tenant_ensure, team_create

    public_tenant_ensure()
    team = team_create(name="Bench", slug="bench-billing", provision_async=False)
    team = team_provision(team_id=team.pk)
    with tenant_context(team):
        chatbot = chatbot_create(name="Bench bot")
        participant = Participant.objects.create(platform="web", identifier="bench@example.com")
        session = ChatSession.objects.create(chatbot=chatbot, participant=participant, platform="web")
    return team, chatbot, session


def messages(session: object, count: int) -> list[object]:
    from tenant_apps.conversations.models import ChatMessage

    return list(
        ChatMessage.objects.bulk_create(
            ChatMessage(session=session, role="user", content=f"question {i}", turn_status="processing")
            for i in range(count)
        )
    )


def store(team: object, chatbot: object, session: object, message: object, *, metered: bool) -> float:
    """One turn's store, as ``_turn_store`` writes it (+ the usage when ``metered``); seconds."""
    from django.utils import timezone

    from shared_apps.billing.metering import usage_writes
    from shared_apps.core.prepared import insert, update, write_together
    from tenant_apps.conversations.models import ChatMessage, ChatSession, Trace

    now = timezone.now()
    reply = ChatMessage(session=session, role="assistant", content="Echo: question", reply_to=message)
    trace = Trace(
        session=session,
        message=message,
        status="success",
        duration_ms=12.5,
        node_path=["start", "llm", "end"],
        nodes=[],
        input_tokens=120,
        output_tokens=30,
        cost=Decimal("0.000125"),
    )
    writes = [
        insert(reply),
        insert(trace),
        update(ChatMessage, message.pk, turn_status="done"),  # type: ignore[attr-defined]
        update(ChatSession, session.pk, last_activity_at=now),  # type: ignore[attr-defined]
    ]
    if metered:
        writes += usage_writes(
            team_id=team.pk,
            chatbot_id=chatbot.pk,
            period_start=PERIOD,
            at=now,
            cost=Decimal("0.000125"),  # type: ignore[attr-defined]
            input_tokens=120,
            output_tokens=30,
        )
    start = time.perf_counter()
    write_together(*writes)
    return time.perf_counter() - start


def load(message_id: int, team_id: int, *, counted: bool) -> float:
    start = time.perf_counter()
    (LOAD_COUNTED if counted else LOAD_PLAIN).first(
        **(
            {"message_id": message_id, "team_id": team_id, "period_start": PERIOD}
            if counted
            else {"message_id": message_id}
        )
    )
    return time.perf_counter() - start


def summary(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.9)] * 1e6


PERIOD: object = None
LOAD_PLAIN: object = None
LOAD_COUNTED: object = None


def main() -> None:
    global PERIOD, LOAD_PLAIN, LOAD_COUNTED
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    psql(f'CREATE DATABASE "{DB}"')
    try:
        manage("migrate_teams", "-v", "0")
        team, chatbot, session = setup()
        from datetime import UTC, datetime

        from django.db import connection, connections
        from django.db.models import OuterRef, Subquery

        from shared_apps.core.prepared import PreparedQuery
        from tenant_apps.conversations.models import ChatMessage, ParticipantData
        from tenant_apps.conversations.turn_sql import _turn_message_query

        def _plain_query(message_id):  # the turn's load query as it was before the usage annotation
            data = ParticipantData.objects.filter(
                participant_id=OuterRef("session__participant_id"), chatbot_id=OuterRef("session__chatbot_id")
            )
            return (
                ChatMessage.objects.select_related(
                    "session__participant", "session__chatbot__pipeline", "session__version__pipeline"
                )
                .annotate(
                    participant_data_id=Subquery(data.values("id")[:1]),
                    participant_data=Subquery(data.values("data")[:1]),
                )
                .filter(pk=message_id)[:1]
            )

        from tenants.context import tenant_context

        PERIOD = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        LOAD_PLAIN = PreparedQuery(_plain_query, message_id=int)
        LOAD_COUNTED = PreparedQuery(  # the turn's own query (with the usage annotation)
            _turn_message_query,
            message_id=int,
            team_id=int,
            period_start=datetime,
        )
        plain, metered, read_plain, read_counted = [], [], [], []
        with tenant_context(team):  # type: ignore[arg-type]
            pending = messages(session, args.turns * 2 + 20)
            for index, message in enumerate(pending[:20]):  # warm: compile, prepare server-side
                store(team, chatbot, session, message, metered=bool(index % 2))
            for index, message in enumerate(pending[20:]):
                (metered if index % 2 else plain).append(
                    store(team, chatbot, session, message, metered=bool(index % 2))
                )
            for index, message in enumerate(pending[:2000]):
                (read_counted if index % 2 else read_plain).append(
                    load(message.pk, team.pk, counted=bool(index % 2))  # type: ignore[attr-defined]
                )

            # Several connections of one team storing at once (contention on the shared roll-up rows).
            per_thread = 400
            contention: dict[bool, list[float]] = {False: [], True: []}
            for variant in (False, True, True, False):  # ABBA: neither variant always runs warmer
                extra = messages(session, args.threads * per_thread)
                chunks = [extra[i :: args.threads] for i in range(args.threads)]
                barrier = threading.Barrier(args.threads + 1)

                def run(chunk: list[object], flag: bool = variant, barrier: threading.Barrier = barrier) -> None:
                    connection.set_tenant(team)
                    barrier.wait()
                    for message in chunk:
                        store(team, chatbot, session, message, metered=flag)
                    connections.close_all()

                threads = [threading.Thread(target=run, args=(chunk,)) for chunk in chunks]
                for thread in threads:
                    thread.start()
                barrier.wait()
                start = time.perf_counter()
                for thread in threads:
                    thread.join()
                contention[variant].append(sum(len(c) for c in chunks) / (time.perf_counter() - start))

        p_med, p_p90 = summary(plain)
        m_med, m_p90 = summary(metered)
        rp_med, rp_p90 = summary(read_plain)
        rc_med, rc_p90 = summary(read_counted)
        lines = [
            f"## Billing roll-up — {date.today()} — {platform.node()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}",
            "",
            f"One connection, {len(plain)} statements per variant, alternating (µs, client-observed round trip):",
            "",
            "| statement | median | p90 |",
            "|---|---:|---:|",
            f"| turn store (reply + trace + message + session) | {p_med:.0f} | {p_p90:.0f} |",
            f"| turn store + usage upserts (day + period) | {m_med:.0f} | {m_p90:.0f} |",
            f"| difference | {m_med - p_med:+.0f} | {m_p90 - p_p90:+.0f} |",
            f"| turn message load | {rp_med:.0f} | {rp_p90:.0f} |",
            f"| turn message load + usage counters | {rc_med:.0f} | {rc_p90:.0f} |",
            f"| difference | {rc_med - rp_med:+.0f} | {rc_p90 - rp_p90:+.0f} |",
            "",
            f"{args.threads} connections of one team storing at once (two runs each, ABBA): "
            f"{' / '.join(f'{v:.0f}' for v in contention[False])} stores/s without the upserts, "
            f"{' / '.join(f'{v:.0f}' for v in contention[True])} with them.",
        ]
        print("\n".join(lines))
    finally:
        from django.db import connections as all_connections

        all_connections.close_all()
        psql(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()

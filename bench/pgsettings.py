"""The PostgreSQL durability and memory settings a benchmark ran with, for its output (issue 20: figures are only
comparable on the same durability). ``describe(dsn)`` -> one line; imported by every bench script."""

from __future__ import annotations

NAMES = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "server_version")


def settings_of(dsn: str) -> dict[str, str]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", [list(NAMES)]
        ).fetchall()
    return dict(rows)


def describe(dsn: str) -> str:
    values = settings_of(dsn)
    durable = all(values.get(name) == "on" for name in ("fsync", "synchronous_commit", "full_page_writes"))
    return (
        f"PostgreSQL {values.get('server_version', '?').split()[0]}: fsync={values.get('fsync')}, "
        f"synchronous_commit={values.get('synchronous_commit')}, full_page_writes={values.get('full_page_writes')}, "
        f"shared_buffers={values.get('shared_buffers')} ({'production durability' if durable else 'DEV durability'})"
    )


if __name__ == "__main__":
    import os

    print(describe(os.environ.get("BENCH_PG_SERVER", "postgres://postgres@127.0.0.1:5432") + "/postgres"))

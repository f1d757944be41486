from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.migrating import migrate_all
from tenants.services.teams import public_tenant_ensure


class Command(BaseCommand):
    help = (
        "Deploy migrations: public first, then the template and the team schemas the ledger does not vouch for "
        "(one query when nothing is pending). Resumable: rerun after an interruption or failures."
    )

    # A deploy step: system checks (which import every URLconf and view, seconds of start-up) run in CI and
    # `manage.py check --deploy`, not on each gate.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--parallel", type=int, default=None, help="Processes for team schemas (default: CPUs, at most 8)."
        )
        parser.add_argument("--full", action="store_true", help="Open every schema instead of trusting the ledger.")
        parser.add_argument(
            "--no-replay", action="store_true", help="Run Django's migrate in every schema (no compiled SQL)."
        )
        parser.add_argument("--report", default="", help="Write the per-schema result (failures) to this JSON file.")

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] >= 1

        def echo(line: str) -> None:
            if verbose:
                self.stdout.write(line)

        report = migrate_all(
            parallel=options["parallel"], echo=echo, full=options["full"], replay=not options["no_replay"]
        )
        public_tenant_ensure()
        if options["report"]:
            report.write(options["report"])
        if verbose:
            self.stdout.write(
                f"Checked {report.checked} schemas outside the ledger, migrated {len(report.migrated)} "
                f"({report.replayed} by compiled SQL) in {report.seconds:.2f} s."
            )
        if report.failed:
            for schema, error in list(report.failed.items())[:20]:
                self.stderr.write(f"  {schema}: {error}")
            raise CommandError(
                f"{len(report.failed)} schema(s) failed to migrate (the others are done; rerun to retry): "
                f"{', '.join(list(report.failed)[:20])}"
            )

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.migrating import schemas_check


class Command(BaseCommand):
    help = (
        "The deploy gate's full check: open every team schema, compare its migrations with the code and its "
        "structure with the template, and repair the ledger. Exits non-zero on drift."
    )

    requires_system_checks: list[str] = []  # an operations command: no URLconf/view imports at start-up

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Report only; leave the ledger as it is.")

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] >= 1
        report = schemas_check(
            echo=(lambda line: self.stdout.write(line)) if verbose else (lambda _: None),
            fix_ledger=not options["dry_run"],
        )
        if verbose:
            self.stdout.write(
                f"Checked {report.checked} schemas in {report.seconds:.1f} s: {len(report.pending)} behind the code, "
                f"{len(report.ledger_drift)} ledger drift, {len(report.structure_drift)} structure drift, "
                f"{report.recorded} newly recorded."
            )
        if report.drifted:
            lines = [f"  ledger drift (now pending for migrate_teams): {s}" for s in report.ledger_drift[:50]]
            lines += [f"  structure differs from the template: {s}" for s in report.structure_drift[:50]]
            raise CommandError("Schema drift found:\n" + "\n".join(lines))

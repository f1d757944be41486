from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.migrating import migrate_all
from tenants.services.teams import public_tenant_ensure


class Command(BaseCommand):
    help = "Deploy migrations: public first, then only the team schemas that have pending migrations."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--parallel", type=int, default=None, help="Processes for team schemas (default: CPUs).")

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] >= 1

        def echo(line: str) -> None:
            if verbose:
                self.stdout.write(line)

        report = migrate_all(parallel=options["parallel"], echo=echo)
        public_tenant_ensure()
        if verbose:
            self.stdout.write(
                f"Checked {report.checked} team schemas, migrated {len(report.migrated)} in {report.seconds:.2f} s."
            )
        if report.failed:
            raise CommandError(f"{len(report.failed)} schema(s) failed to migrate: {', '.join(report.failed)}")

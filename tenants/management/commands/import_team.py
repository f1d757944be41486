from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.moving import MoveError, team_archive_restore


class Command(BaseCommand):
    help = "Restore a team archive written by export_team into this database (the slug must be free here)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("archive")
        parser.add_argument("--dry-run", action="store_true", help="Check the archive and the target; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        source = Path(options["archive"])
        if not source.is_file():
            raise CommandError(f"No archive at {source}.")
        try:
            summary = team_archive_restore(
                source=source, echo=lambda line: self.stdout.write(line), dry_run=options["dry_run"]
            )
        except MoveError as exc:
            raise CommandError(str(exc)) from exc
        if options["dry_run"]:
            self.stdout.write(f"Dry run: would restore {summary.rows}.")
        else:
            self.stdout.write(
                f"Restored: {summary.rows}, {summary.users_created} users created, {summary.files} files"
                + (", schema migrated to this code" if summary.migrated else "")
                + "."
            )

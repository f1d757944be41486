from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.moving import team_archive_write
from tenants.selectors import team_get_by_slug


class Command(BaseCommand):
    help = "Write a self-contained archive of one team (schema DDL + data, its public rows, its files) to move it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--out", default="", help="Archive path (default: ./<slug>.team.tar).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be archived; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        team = team_get_by_slug(slug=options["slug"])
        if team is None or team.is_public:
            raise CommandError(f"No team with slug {options['slug']!r}.")
        target = Path(options["out"] or f"{team.slug}.team.tar").resolve()
        if target.exists() and not options["dry_run"]:
            raise CommandError(f"{target} exists; choose another --out.")
        summary = team_archive_write(
            team=team, target=target, echo=lambda line: self.stdout.write(line), dry_run=options["dry_run"]
        )
        if options["dry_run"]:
            self.stdout.write(f"Dry run: would archive {summary.rows} and {summary.files} files to {target}.")

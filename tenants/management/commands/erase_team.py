from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.moving import team_erase
from tenants.selectors import team_get_by_slug


class Command(BaseCommand):
    help = (
        "Erase every byte of a team: schema, public rows (team, domains, memberships, billing, ...), files, cache and "
        "Redis keys; then prove it with a scan. Asks for the slug to be typed unless --yes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        parser.add_argument("--dry-run", action="store_true", help="Show what would be erased; erase nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        team = team_get_by_slug(slug=options["slug"])
        if team is None or team.is_public:
            raise CommandError(f"No team with slug {options['slug']!r}.")
        echo = lambda line: self.stdout.write(line)  # noqa: E731
        if options["dry_run"]:
            report = team_erase(team=team, echo=echo, dry_run=True)
            self.stdout.write("Dry run: nothing was erased.")
            return
        if not options["yes"]:
            answer = input(f"This erases team {team.slug} and schema {team.schema_name} for good. Type the slug: ")
            if answer.strip() != team.slug:
                raise CommandError("Not confirmed; nothing was erased.")
        report = team_erase(team=team, echo=echo)
        if report.leftovers:
            raise CommandError("Erased, but the scan still finds: " + "; ".join(report.leftovers))
        self.stdout.write(f"Erased team {team.slug}; the proving scan finds nothing left.")

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.lifecycle import team_delete
from tenants.selectors import team_get_by_slug


class Command(BaseCommand):
    help = "Delete a team and DROP its schema (all its data). Asks for the slug to be typed unless --yes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True)
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        team = team_get_by_slug(slug=options["slug"])
        if team is None:
            raise CommandError(f"No team with slug {options['slug']!r}.")
        if not options["yes"]:
            answer = input(f"This drops schema {team.schema_name} and all of {team.name}'s data. Type the slug: ")
            if answer.strip() != team.slug:
                raise CommandError("Not confirmed; nothing was deleted.")
        team_delete(team=team)
        self.stdout.write(f"Deleted team {team.slug} and dropped schema {team.schema_name}.")

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shared_apps.core.exceptions import ApplicationError
from tenant_apps.api.services import api_key_create
from tenants.context import tenant_context
from tenants.selectors import team_get_by_slug


class Command(BaseCommand):
    help = "Create a team API key and print it (the secret is shown only this once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug (subdomain).")
        parser.add_argument("--name", required=True, help="What the key is for, e.g. ci.")
        parser.add_argument("--read-only", action="store_true", help="Allow GET requests only.")

    def handle(self, *args: Any, **options: Any) -> None:
        team = team_get_by_slug(slug=options["team"])
        if team is None or not team.is_active:
            raise CommandError(f"No active team with slug {options['team']!r}.")
        with tenant_context(team):
            try:
                key, raw = api_key_create(name=options["name"], read_only=options["read_only"], created_by=None)
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
        self.stdout.write(raw)
        self.stderr.write(
            f"Created {'read-only ' if key.read_only else ''}key {key.prefix} for team {team.slug}. "
            "Store it now: it cannot be shown again."
        )

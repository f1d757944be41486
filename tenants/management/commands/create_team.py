from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shared_apps.core.exceptions import ApplicationError
from tenants.lifecycle import team_provision
from tenants.services.teams import team_create
from tenants.urls import team_url


class Command(BaseCommand):
    help = "Create a team: its row, domain and schema (and optionally its owner)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="Subdomain label, e.g. acme -> acme.<BASE_DOMAIN>")
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner-email", default=None)
        parser.add_argument("--owner-password", default=None)
        parser.add_argument("--method", choices=["clone", "migrate"], default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from shared_apps.accounts.services import user_get_or_create

        owner = None
        if options["owner_email"]:
            owner = user_get_or_create(email=options["owner_email"], password=options["owner_password"])
        start = time.perf_counter()
        try:
            team = team_create(name=options["name"], slug=options["slug"], owner=owner, provision_async=False)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        team = team_provision(team_id=team.pk, method=options["method"])
        if team.status != "active":
            raise CommandError(f"Provisioning failed: {team.provisioning_error}")
        self.stdout.write(
            f"Created team {team.slug} (schema {team.schema_name}) at {team_url(team)} "
            f"in {time.perf_counter() - start:.2f} s."
        )

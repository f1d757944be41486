from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from shared_apps.billing.services import plan_set
from shared_apps.core.exceptions import ApplicationError
from tenants.context import public_context
from tenants.models import Team


class Command(BaseCommand):
    help = "Put a team on a plan directly, without Stripe (staff and tests). A later Stripe event sets it again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", required=True, help="The team's slug.")
        parser.add_argument("--plan", required=True, help="The plan's code, e.g. free, pro, business.")

    def handle(self, *args: Any, **options: Any) -> None:
        with public_context():
            team = Team.objects.teams().filter(slug=options["team"]).first()
            if team is None:
                raise CommandError(f"There is no team “{options['team']}”.")
            try:
                account = plan_set(team=team, plan_code=options["plan"])
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
        assert account.plan is not None
        self.stdout.write(f"{team.slug} is now on the {account.plan.name} plan.")

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string

from shared_apps.accounts.services import user_get_or_create
from tenants.context import tenant_context
from tenants.enums import Role, TeamStatus
from tenants.lifecycle import team_provision
from tenants.models import Membership, Team
from tenants.services.teams import public_tenant_ensure, team_create

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 (a documented local demo login)


class Command(BaseCommand):
    help = "Create (or repair) the public site, the demo user and the demo team 'demo'. Safe to re-run."

    def handle(self, *args: Any, **options: Any) -> None:
        public_tenant_ensure()
        user = user_get_or_create(email=DEMO_EMAIL, password=DEMO_PASSWORD)
        team = Team.objects.filter(slug="demo").first()
        if team is None:
            team = team_create(name="Demo team", slug="demo", owner=user, provision_async=False)
        Membership.objects.get_or_create(user=user, team=team, defaults={"role": Role.OWNER})
        if team.status in (TeamStatus.PROVISIONING, TeamStatus.FAILED):
            team.status = TeamStatus.PROVISIONING
            team.save(update_fields=["status"])
            team = team_provision(team_id=team.pk)
        with tenant_context(team):
            for path in settings.DEMO_SETUP_HOOKS:
                import_string(path)(team=team, user=user, stdout=self.stdout)
        # No addresses here: make run prints them once they answer (infra/dev/supervise.py).
        self.stdout.write(f"Demo team “{team.slug}” is set up · login {DEMO_EMAIL} / {DEMO_PASSWORD}")

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from shared_apps.catalog.services import catalog_seed
from tenants.context import public_context


class Command(BaseCommand):
    help = "Create or update the global LLM catalog from shared_apps/catalog/data/catalog.json. Safe to re-run."

    def handle(self, *args: Any, **options: Any) -> None:
        with public_context():
            report = catalog_seed()
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Catalog: {report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
                f"{report.pinned} pinned (kept)."
            )

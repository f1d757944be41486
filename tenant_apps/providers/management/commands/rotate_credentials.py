from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tenant_apps.providers.rotation import rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored credential with the newest key in FERNET_KEYS (public and every active or "
        "suspended team). Run after putting a new key first; remove the old key only afterwards. Safe to re-run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] >= 1

        def echo(line: str) -> None:
            if options["verbosity"] >= 2:
                self.stdout.write(line)

        report = rotate_all(echo=echo)
        if verbose:
            self.stdout.write(f"Re-encrypted {report.rows} row(s) in {len(report.schemas)} schema(s).")

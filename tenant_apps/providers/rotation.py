"""Re-encrypt every ``EncryptedJSONField`` value with the newest Fernet key, in public and in every team schema.

Lives with the credentials it rotates (the field and the keys are core's; walking every team is not the floor's
job). Finds the fields through the app registry, so apps that add encrypted fields later are covered without changes.
Rows are locked while they are rewritten so a concurrent credentials change is not overwritten with stale data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import models, transaction

from shared_apps.core import crypto
from shared_apps.core.fields import EncryptedJSONField, Secrets
from tenants.context import public_context, tenant_context
from tenants.enums import TeamStatus
from tenants.models import Team


@dataclass
class RotationReport:
    rows: int = 0
    schemas: list[str] = field(default_factory=list)


def encrypted_models(*, tenant: bool) -> list[tuple[type[models.Model], list[str]]]:
    """Concrete models with encrypted fields, for team schemas (``tenant``) or for public."""
    tenant_labels = {apps.get_app_config(name.rsplit(".", 1)[-1]).label for name in settings.TENANT_APPS}
    found = []
    for model in apps.get_models():
        if (model._meta.app_label in tenant_labels) != tenant or model._meta.proxy:
            continue
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedJSONField)]
        if names:
            found.append((model, names))
    return found


@transaction.atomic
def rotate_model(model: type[models.Model], attnames: list[str]) -> int:
    rows = 0
    for pk, *values in model._default_manager.select_for_update().values_list("pk", *attnames).order_by("pk"):
        changes = {
            name: Secrets.sealed(crypto.rotate(value.token()))
            for name, value in zip(attnames, values, strict=True)
            if value is not None
        }
        if changes:
            model._default_manager.filter(pk=pk).update(**changes)
            rows += 1
    return rows


def rotate_all(*, echo: Callable[[str], None] = lambda line: None) -> RotationReport:
    report = RotationReport()
    with public_context():
        report.rows += sum(rotate_model(model, names) for model, names in encrypted_models(tenant=False))
    report.schemas.append("public")
    tenant_models = encrypted_models(tenant=True)
    teams = Team.objects.teams().filter(status__in=[TeamStatus.ACTIVE, TeamStatus.SUSPENDED]).order_by("pk")
    for team in teams:
        with tenant_context(team):
            rows = sum(rotate_model(model, names) for model, names in tenant_models)
        report.rows += rows
        report.schemas.append(team.schema_name)
        echo(f"{team.slug}: re-encrypted {rows} row(s)")
    return report

from __future__ import annotations

import factory

from tenant_apps.audit.models import AuditEvent


class AuditEventFactory(factory.django.DjangoModelFactory[AuditEvent]):
    """Create inside a team context (the table lives in team schemas)."""

    class Meta:
        model = AuditEvent

    action = factory.Sequence(lambda n: f"thing.changed_{n}")
    actor_label = "someone@example.com"

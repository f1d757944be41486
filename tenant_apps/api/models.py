"""Team API keys for the management API. They live in the team's schema: a key only exists on its team's host.

A key reads ``<prefix>.<secret>``. The prefix is stored in clear (to find the row and to show in lists); the
secret only as a SHA-256 digest, compared in constant time (docs/adr/0012-team-api-keys.md).
"""

from __future__ import annotations

from django.db import models

from shared_apps.core.fields import user_reference
from tenants.enums import Role


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    read_only = models.BooleanField(default=False)
    # Users live in public: deleting one must not reach into every team schema, so no cascade and no constraint.
    created_by = user_reference()
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def team_role(self) -> Role:
        """The role the key acts with (docs/permissions.md): full keys act as editors, read-only keys as viewers."""
        return Role.VIEWER if self.read_only else Role.EDITOR

"""The tenancy core: a team is a PostgreSQL schema reached through its subdomain.

These tables live in ``public``. Team tables may reference them (the search path is ``team, public``);
nothing here may reference a team table. See docs/adr/0001-schema-per-team.md.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants.enums import Role, TeamStatus


def schema_name_for_slug(slug: str) -> str:
    """``acme-labs`` -> ``t_acme_labs``. The prefix keeps team schemas clear of ``public``/``pg_*``."""
    return "t_" + slug.replace("-", "_")


class TeamQuerySet(models.QuerySet["Team"]):
    def active(self) -> TeamQuerySet:
        return self.filter(status=TeamStatus.ACTIVE).exclude(schema_name="public")

    def teams(self) -> TeamQuerySet:
        """Every real team (not the public tenant)."""
        return self.exclude(schema_name="public")


class Team(TenantMixin):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=40, unique=True)
    status = models.CharField(max_length=20, choices=TeamStatus.choices, default=TeamStatus.PROVISIONING)
    plan_code = models.CharField(max_length=40, default="free")
    provisioning_error = models.TextField(blank=True)
    storage_bytes = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    provisioned_at = models.DateTimeField(null=True, blank=True)

    # Schemas are built by tenants.provisioning (clone or migrate) in a task, never inside save().
    auto_create_schema = False
    auto_drop_schema = False

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_public(self) -> bool:
        return self.schema_name == "public"

    @property
    def is_active(self) -> bool:
        return self.status == TeamStatus.ACTIVE


class Domain(DomainMixin):
    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class Membership(models.Model):
    """A user's role in a team. Lives in public so login can list a user's teams without visiting schemas."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="membership_unique_user_team")]
        ordering = ["team__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

"""The tenancy core: a team is a PostgreSQL schema reached through its subdomain.

These tables live in ``public``. Team tables may reference them (the search path is ``team, public``);
nothing here may reference a team table. See docs/adr/0001-schema-per-team.md.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_tenants.models import DomainMixin, TenantMixin

from tenants.enums import ExportStatus, Role, TeamStatus


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


def invitation_token_hash(token: str) -> str:
    """Invitations store only this digest of their token (the raw token lives in the email)."""
    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def open(self) -> InvitationQuerySet:
        """Neither accepted nor revoked (possibly expired)."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)

    def pending(self) -> InvitationQuerySet:
        """Open and not expired: the ones whose link still works."""
        return self.open().filter(expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An offer to join ``team`` with ``role``, sent to ``email``. Lives in public (the accept page is on the apex).

    Only a SHA-256 of the token is stored: the raw token exists in the email alone, so a database leak cannot be
    turned into memberships. At most one open invitation per (team, email); accepting is idempotent and adds the
    membership exactly once (see ``tenants.services.invitations.invitation_accept`` and docs/adr/0011-invitations.md).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_team_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.team} ({self.role})"

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def state(self) -> str:
        """accepted / revoked / expired / pending, for display."""
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        return "expired" if self.is_expired else "pending"


class TeamExport(models.Model):
    """An archive of one team's schema (``pg_dump -n``, gzip), built by ``team_export_task``.

    The row lives in public so the task can find it whatever schema it runs in; the file lives under
    ``TEAM_EXPORT_ROOT/<schema_name>/`` and is served only to admins of ``team`` (docs/adr/0014-team-export.md).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="exports")
    status = models.CharField(max_length=20, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file_path = models.CharField(max_length=500, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Export {self.pk} of {self.team} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)

    @property
    def file_name(self) -> str:
        return self.file_path.rsplit("/", 1)[-1] if self.file_path else ""


class ChannelRoute(models.Model):
    """Routes an external id that arrives without a team in its host (a widget embed key on the apex, later a
    WhatsApp phone_number_id, a Messenger page id, a Slack team id) to a team and a channel in its schema.

    Written by the team's channel services when a channel is added, re-keyed or deleted; read by the global
    endpoints, which then run in the team's schema. ``channel_id`` is the channel's id in that schema (no foreign
    key: public never references team tables)."""

    platform = models.CharField(max_length=20)
    external_id = models.CharField(max_length=255)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="channel_routes")
    channel_id = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_id"], name="channel_route_unique_external_id")
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id} -> team {self.team_id}"


class SchemaMigrationState(models.Model):
    """The deploy gate's ledger (ADR 0150): which migration set a team schema (or the template) was last verified
    to hold. Written in the same transaction that clones or migrates the schema; ``migrate_teams`` compares the
    digests with the code's in one query instead of opening every schema. The periodic full check
    (``check_team_schemas``) corrects a ledger that drifted from the schemas."""

    schema_name = models.CharField(max_length=63, primary_key=True)
    digest = models.CharField(max_length=64)
    structure = models.CharField(max_length=32, blank=True)
    recorded_at = models.DateTimeField()
    checked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.schema_name} {self.digest[:12]}"

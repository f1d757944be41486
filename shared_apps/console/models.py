"""The staff console's own tables (public): per-team roll-ups it lists from, feature flags, impersonations and
the staff audit log. Nothing here is read from a team schema at request time (ADR 0130)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tenants.models import Team


class TeamRollup(models.Model):
    """Figures about a team that live in its schema, copied to public by a periodic task
    (``console.tasks.team_rollup_refresh_task``) so the teams list sorts 10,000 teams without opening one."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="rollup", primary_key=True)
    chatbots = models.PositiveIntegerField(default=0)
    sessions = models.PositiveIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["last_activity_at"], name="rollup_last_activity")]

    def __str__(self) -> str:
        return f"roll-up of team {self.team_id}"


class TeamFlag(models.Model):
    """A feature flag switched on for one team (flags are declared in ``console.flags.FLAGS``)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="flags")
    name = models.CharField(max_length=60)
    enabled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="console_flag_unique_team_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} for team {self.team_id}"


class Impersonation(models.Model):
    """A staff member's read-only visit to a team, from start to end; every request of it is a ``StaffAction``."""

    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=300)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"visit {self.pk} of team {self.team_id}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class StaffAction(models.Model):
    """The staff audit log: who did what to which team from the console (and every impersonated request)."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=254)
    action = models.CharField(max_length=60, db_index=True)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    team_label = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "-created_at"], name="staffaction_team_created")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action}"

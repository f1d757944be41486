"""The team's audit log of sensitive changes (roles, credentials, publishing, deletion). Lives in the team schema."""

from __future__ import annotations

from django.db import models

from shared_apps.core.fields import user_reference


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Users live in public: deleting one must not touch every team's schema (a public-side delete cannot even see
    # this table), so no cascade and no constraint; ``actor_label`` keeps who it was.
    actor = user_reference()
    actor_label = models.CharField(max_length=254, blank=True)  # kept when the user is deleted
    action = models.CharField(max_length=80, db_index=True)  # "<entity>.<past verb>", e.g. "member.role_changed"
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)  # never secrets: callers pass names, not values

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label or 'system'}"

"""A pipeline is a graph of typed nodes and edges, stored as one JSON document (ADR 0030).

The graph is the unit the editor loads and saves, the unit a version freezes and the unit the executor compiles,
so it is stored whole. ``edit_revision`` is the optimistic-concurrency token: every write of ``graph`` goes
through ``services`` and bumps it, which also keys the compiled-pipeline cache.
"""

from __future__ import annotations

from typing import Any

from django.db import models


def empty_graph() -> dict[str, Any]:
    return {"nodes": [], "edges": []}


class Pipeline(models.Model):
    name = models.CharField(max_length=200)
    graph = models.JSONField(default=empty_graph)
    edit_revision = models.PositiveIntegerField(default=1)
    # Frozen copies back chatbot versions: services refuse to change them (code "pipeline.frozen").
    is_frozen = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class PipelineEmail(models.Model):
    """One email a send-email node asked for: the outbox row the Celery task sends from, exactly once.

    Queued on commit of the run's transaction; the task locks the row and skips it once sent, so a redelivered
    task does not send twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=500)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject

"""Errors of the pipelines app. Codes are a stable API contract."""

from __future__ import annotations

from shared_apps.core.exceptions import ApplicationError, InvalidStateError, NotFoundError


class PipelineNotFoundError(NotFoundError):
    """code "pipeline.not_found"."""


class PipelineFrozenError(InvalidStateError):
    """code "pipeline.frozen": the pipeline backs a version and cannot change."""


class PipelineConflictError(InvalidStateError):
    """code "pipeline.conflict": someone saved since the editor loaded it (``extra.edit_revision`` is current)."""


class PipelineInvalidError(ApplicationError):
    """code "pipeline.invalid": the graph has errors (``extra.errors``), so it cannot be run or frozen."""


class GraphShapeError(ApplicationError):
    """code "pipeline.bad_graph": the document is not a graph at all (not nodes + edges); nothing is stored."""

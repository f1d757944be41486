"""The tenant-aware Celery app and the queues every task must name.

`tenant_schemas_celery` stamps the schema that is active at ``.delay()`` into the message headers and the worker
switches to it before the task runs. A task enqueued outside a team context therefore runs in ``public``,
where team tables do not exist. See docs/adr/0001-schema-per-team.md.
"""

from __future__ import annotations

import os
import warnings
from enum import StrEnum
from typing import Any

from celery.signals import task_postrun
from celery.utils.deprecated import CDeprecationWarning
from tenant_schemas_celery.app import CeleryApp, restore_schema
from tenant_schemas_celery.task import TenantTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

# Every task names its queue on the decorator (guarded by tests/architecture/test_task_queues.py). Celery 5.5+
# announces that the attribute goes away in 6.0; until we move to 6 (and to generated task_routes), keep it.
warnings.filterwarnings("ignore", message=r"\s*The 'queue' task attribute", category=CDeprecationWarning)


class Queue(StrEnum):
    CHAT = "chat"  # turns, inbound/outbound messages: latency first, nothing slow runs here
    PIPELINES = "pipelines"  # pipeline test runs and other LLM work that is not a live turn
    MAINTENANCE = "maintenance"  # provisioning, exports, cleanup, beat fan-out


class TeamTask(TenantTask):
    """Base task: resolves the team from the in-process cache instead of one query per task.

    tenant-schemas-celery looks the team row up for every task by default, which halved throughput of a
    one-select task on this hardware (~106 vs ~195 tasks/s). `tenants.resolver` keeps the row cached and
    drops it when any team changes (generation counter in Redis).
    """

    abstract = True

    @classmethod
    def get_tenant_for_schema(cls, schema_name: str) -> Any:
        from tenants.resolver import team_for_schema

        return team_for_schema(schema_name)


def _restore_schema_after_eager_task(task: Any, **kwargs: Any) -> None:
    """tenant-schemas-celery puts the connection back to ``public`` after every task, so the next task in the
    same team pays a ``SET search_path`` round trip again. A worker process runs nothing but tasks and every task
    switches to its own schema before it runs (a public task included), so only a task run eagerly, inside the
    caller's code, needs the caller's schema back."""
    if task.request.is_eager:
        restore_schema(task, **kwargs)


task_postrun.disconnect(dispatch_uid="tenant_schemas_restore_schema")
task_postrun.connect(_restore_schema_after_eager_task, dispatch_uid="chatstudio_restore_schema", weak=False)


class TeamCeleryApp(CeleryApp):
    task_cls = "config.celery:TeamTask"


app = TeamCeleryApp("chatstudio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

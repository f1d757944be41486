# ------------------------------------------------------------------------------
# Celery: tenant-aware app (config/celery.py); queues are declared per task.
# ------------------------------------------------------------------------------
from celery.schedules import crontab

from config.env import env_bool, env_int, env_str
from config.settings.components.cache import REDIS_URL

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_BROKER_TRANSPORT = "config.broker:Transport"  # kombu's Redis transport, one client per channel
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# Celery closes the DB connection around every task unless this is set; reuse it (~200 -> ~490 tasks/s).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)

CELERY_BEAT_SCHEDULE = {
    # No turn is dropped silently: turns whose enqueue or worker was lost are enqueued again.
    "turns-requeue-stuck": {
        "task": "tenant_apps.conversations.tasks.turns_requeue_dispatch_task",
        "schedule": crontab(minute="*/2"),
    },
    "teams-storage-refresh": {
        "task": "tenants.tasks.team_storage_refresh_dispatch_task",
        "schedule": crontab(minute="*/15"),
    },
    # Usage to Stripe as meter events (idempotent), and the 80 % spend-cap emails (ADR 0120).
    "billing-usage-report": {
        "task": "shared_apps.billing.tasks.usage_report_dispatch_task",
        "schedule": crontab(minute="*/10"),
    },
    # The staff console's public roll-ups (chatbots, sessions, last activity per team) and migration check.
    "console-team-rollups": {
        "task": "shared_apps.console.tasks.team_rollup_dispatch_task",
        "schedule": crontab(minute="*/15"),
    },
    "console-pending-migrations": {
        "task": "shared_apps.console.tasks.pending_migrations_check_task",
        "schedule": crontab(minute="*/10"),
    },
    "billing-spend-alerts": {
        "task": "shared_apps.billing.tasks.spend_alerts_task",
        "schedule": crontab(minute="*/5"),
    },
}

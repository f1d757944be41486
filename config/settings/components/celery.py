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
    # Spare team schemas for fast signups; also dropped and rebuilt after a deploy changed migrations (ADR 0153).
    "teams-spares-refill": {
        "task": "tenants.tasks.team_spares_refill_task",
        "schedule": crontab(minute="*/5"),
    },
    # The deploy gate's full check: every team schema against the code and the template (ADR 0150).
    "teams-schemas-check": {
        "task": "tenants.tasks.team_schemas_check_task",
        "schedule": crontab(minute=17, hour=3),
    },
    # Usage to Stripe as meter events (idempotent), and the 80 % spend-cap emails (ADR 0120).
    "billing-usage-report": {
        "task": "shared_apps.billing.tasks.usage_report_dispatch_task",
        "schedule": crontab(minute="*/10"),
    },
    "billing-spend-alerts": {
        "task": "shared_apps.billing.tasks.spend_alerts_task",
        "schedule": crontab(minute="*/5"),
    },
}

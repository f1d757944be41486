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
# One result backend per process, not per thread: in the gevent chat worker a "thread" is a task's greenlet, and
# Celery built a Redis backend (with its connection pool) for every task. redis-py's client is thread-safe.
CELERY_RESULT_BACKEND_THREAD_SAFE = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
# Celery closes the DB connection around every task unless this is set; reuse it (~200 -> ~490 tasks/s).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)

# The chat turn's limits (ADR 0065). The turn's own limit (any pool): over it the turn stores the apology and an
# error trace. Celery's soft limit follows a little later (a turn stuck outside its pipeline), the hard limit ends
# the worker process (prefork) or greenlet (gevent). A claim's lease is renewed every third of it while the turn
# runs; a lapsed one is a dead worker's, run again by the chat workers' sweep. A turn whose worker stopped more than
# CHAT_TURN_MAX_RECLAIMS times while running it ends with an apology instead.
CHAT_TURN_SOFT_LIMIT = env_int("CHAT_TURN_SOFT_LIMIT", 120)
CHAT_TURN_HARD_LIMIT = env_int("CHAT_TURN_HARD_LIMIT", 150)
CHAT_TURN_LEASE_SECONDS = env_int("CHAT_TURN_LEASE_SECONDS", 15)
CHAT_TURN_MAX_RECLAIMS = env_int("CHAT_TURN_MAX_RECLAIMS", 2)

# How often beat ticks every team's scheduler (scheduled messages, timeout triggers): the latest a due item waits.
EVENTS_TICK_SECONDS = env_int("EVENTS_TICK_SECONDS", 15)
# Broadcast sends per second per platform (the platforms' own limits, with a margin); "default" for the rest.
EVENTS_CHANNEL_RATES: dict[str, float] = {
    "telegram": 25,
    "whatsapp": 50,
    "messenger": 50,
    "slack": 1,
    "sms": 10,
    "default": 50,
}

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
    # The staff console's public roll-ups (chatbots, sessions, last activity per team) and migration check.
    "console-team-rollups": {
        "task": "shared_apps.console.tasks.team_rollup_dispatch_task",
        "schedule": crontab(minute="*/15"),
    },
    "console-pending-migrations": {
        "task": "shared_apps.console.tasks.pending_migrations_check_task",
        "schedule": crontab(minute="*/10"),
    },
    "status-heartbeats": {
        "task": "shared_apps.console.tasks.status_heartbeats_task",
        "schedule": crontab(minute="*"),
    },
    "billing-spend-alerts": {
        "task": "shared_apps.billing.tasks.spend_alerts_task",
        "schedule": crontab(minute="*/5"),
    },
    # Scheduled messages and timeout triggers: one tick per active team (ADR 0140).
    "events-tick": {
        "task": "tenant_apps.events.tasks.events_tick_dispatch_task",
        "schedule": float(EVENTS_TICK_SECONDS),
    },
}

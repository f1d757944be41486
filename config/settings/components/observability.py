# ------------------------------------------------------------------------------
# Error reporting (Sentry) and task monitoring (Task Badger): both off unless configured.
# ------------------------------------------------------------------------------
from config.env import env_list, env_str

SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development")
SENTRY_RELEASE = env_str("SENTRY_RELEASE", "")
TASKBADGER_API_KEY = env_str("TASKBADGER_API_KEY", "")
TASKBADGER_ORGANIZATION = env_str("TASKBADGER_ORGANIZATION", "")
TASKBADGER_PROJECT = env_str("TASKBADGER_PROJECT", "")

# The long tasks Task Badger tracks (a record per run with its state and duration); the chat turn and the
# per-team fan-outs are many and short, so they are left out.
TASKBADGER_TRACKED_TASKS = [
    "tenants.tasks.team_provision_task",
    "tenants.tasks.team_delete_task",
    "tenants.tasks.team_export_task",
    "shared_apps.billing.tasks.usage_report_task",
    "tenant_apps.conversations.tasks.session_export_task",
]

if SENTRY_DSN:
    import sentry_sdk

    from shared_apps.core.sentry import sentry_options

    # Django, Celery and Redis integrations; secrets and message contents scrubbed; team schema + request id tags.
    sentry_sdk.init(**sentry_options(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=SENTRY_RELEASE))

if TASKBADGER_API_KEY and TASKBADGER_ORGANIZATION and TASKBADGER_PROJECT:
    import taskbadger
    from taskbadger.systems.celery import CelerySystemIntegration

    taskbadger.init(
        organization_slug=TASKBADGER_ORGANIZATION,
        project_slug=TASKBADGER_PROJECT,
        token=TASKBADGER_API_KEY,
        systems=[CelerySystemIntegration(auto_track_tasks=True, includes=TASKBADGER_TRACKED_TASKS)],
    )

# The public status page (/status/): the delivery components shown (channel kind, label), and heartbeat URLs
# (uptime monitors such as BetterStack) that beat pings every minute while everything is operational.
STATUS_CHANNEL_KINDS = [
    ("widget", "Website widget replies"),
    ("custom_api", "Custom API callbacks"),
]
STATUS_HEARTBEAT_URLS = env_list("STATUS_HEARTBEAT_URLS", [])

# ------------------------------------------------------------------------------
# Error reporting (Sentry) and task monitoring (Task Badger): both off unless configured.
# ------------------------------------------------------------------------------
from config.env import env_str

SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development")
TASKBADGER_API_KEY = env_str("TASKBADGER_API_KEY", "")
TASKBADGER_ORGANIZATION = env_str("TASKBADGER_ORGANIZATION", "")
TASKBADGER_PROJECT = env_str("TASKBADGER_PROJECT", "")

if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,  # no request bodies, cookies or headers: they can carry credentials
        max_request_body_size="never",
        traces_sample_rate=0.0,
    )

if TASKBADGER_API_KEY and TASKBADGER_ORGANIZATION and TASKBADGER_PROJECT:
    import taskbadger
    from taskbadger.systems.celery import CelerySystemIntegration

    taskbadger.init(
        organization_slug=TASKBADGER_ORGANIZATION,
        project_slug=TASKBADGER_PROJECT,
        token=TASKBADGER_API_KEY,
        systems=[CelerySystemIntegration()],
    )

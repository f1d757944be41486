# ------------------------------------------------------------------------------
# Error reporting (Sentry) and task monitoring (Task Badger): both off unless configured.
# ------------------------------------------------------------------------------
from config.env import env_str

SENTRY_DSN = env_str("SENTRY_DSN", "")
TASKBADGER_API_KEY = env_str("TASKBADGER_API_KEY", "")
TASKBADGER_ORGANIZATION = env_str("TASKBADGER_ORGANIZATION", "")
TASKBADGER_PROJECT = env_str("TASKBADGER_PROJECT", "")

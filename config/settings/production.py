"""Production: everything from the environment; refuse to start without the secrets that matter."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.settings.base import *

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY")  # required: no default in production
if len(SECRET_KEY) < 32 or SECRET_KEY.startswith("dev-insecure"):
    raise ImproperlyConfigured("SECRET_KEY must be a long random value in production.")
FERNET_KEYS = env_list("FERNET_KEYS")
if not FERNET_KEYS:
    raise ImproperlyConfigured("Set FERNET_KEYS (comma-separated Fernet keys, newest first).")

SITE_SCHEME = env_str("SITE_SCHEME", "https")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
CSRF_TRUSTED_ORIGINS = [f"https://{BASE_DOMAIN}", f"https://*.{BASE_DOMAIN}"]
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
LOG_FORMAT = env_str("LOG_FORMAT", "json")  # one JSON object per line for the log collector
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "plain"

# The code node's sandbox must run code as a user of its own (ADR 0062). A root worker switches to
# PIPELINE_CODE_SANDBOX_UID/GID (65533 by default); a worker that is not root needs them set, and CAP_SETUID +
# CAP_SETGID to use them: without a user of its own, code would run as the worker and could signal it.
if PIPELINE_CODE_SANDBOX_UID is None or PIPELINE_CODE_SANDBOX_GID is None:
    raise ImproperlyConfigured(
        "Set PIPELINE_CODE_SANDBOX_UID and PIPELINE_CODE_SANDBOX_GID (the code sandbox's own user), "
        "or run the workers as root so they default to 65533."
    )

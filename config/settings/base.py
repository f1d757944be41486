"""Settings shared by every environment. Each concern lives in ``components/``; environments override little."""

from pathlib import Path

from config.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-secret-key-change-me-0123456789abcdef")
DEBUG = env_bool("DEBUG", False)

# ------------------------------------------------------------------------------
# Hosts: every team lives at <slug>.<BASE_DOMAIN>; the apex is the public site.
# ------------------------------------------------------------------------------
BASE_DOMAIN = env_str("BASE_DOMAIN", "localhost").lower()
SITE_SCHEME = env_str("SITE_SCHEME", "http")
SITE_PORT = env_int("SITE_PORT", 0)  # 0 = default port of the scheme (omitted from URLs)
ALLOWED_HOSTS = [BASE_DOMAIN, f".{BASE_DOMAIN}", *env_list("EXTRA_ALLOWED_HOSTS")]

SITE_NAME = env_str("SITE_NAME", "Chat Studio")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

MIDDLEWARE = [
    "shared_apps.core.health.HealthMiddleware",  # /healthz and /readyz on any Host, before anything that queries
    "shared_apps.core.middleware.RequestIdMiddleware",  # X-Request-ID in, on every log line and error, and out
    "shared_apps.core.middleware.BadInputMiddleware",  # NUL and deeply nested JSON get a 400 before anything runs
    "django.middleware.security.SecurityMiddleware",
    # Static files are the same on every host, including unknown ones (whose branded 404 page needs its CSS):
    # served before the host is resolved, without touching the database.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "shared_apps.core.cors.ChatCorsMiddleware",  # the widget chat API only; answers preflights before anything else
    "tenants.middleware.TeamHostMiddleware",  # before anything that queries: Host -> team, sets search_path
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "tenants.middleware.TeamMemberMiddleware",  # after auth: only members see a team host
]

from config.settings.components.auth import *  # noqa: E402
from config.settings.components.billing import *  # noqa: E402
from config.settings.components.cache import *  # noqa: E402
from config.settings.components.celery import *  # noqa: E402
from config.settings.components.channels import *  # noqa: E402
from config.settings.components.chat import *  # noqa: E402
from config.settings.components.database import *  # noqa: E402
from config.settings.components.drf import *  # noqa: E402
from config.settings.components.email import *  # noqa: E402
from config.settings.components.frontend import *  # noqa: E402
from config.settings.components.logging import *  # noqa: E402
from config.settings.components.observability import *  # noqa: E402
from config.settings.components.pipelines import *  # noqa: E402
from config.settings.components.providers import *  # noqa: E402
from config.settings.components.security import *  # noqa: E402
from config.settings.components.tenancy import *  # noqa: E402

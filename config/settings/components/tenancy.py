# ------------------------------------------------------------------------------
# Tenancy: the one contract of which app lives in which schema (ADR 0001).
# ------------------------------------------------------------------------------
from pathlib import Path

from config.env import env_int, env_str

_ROOT = Path(__file__).resolve().parents[3]

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "shared_apps.core",
    "shared_apps.accounts",
    "shared_apps.catalog",
    "shared_apps.billing",
    "shared_apps.console",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and Redoc assets served from our static files (no CDN)
    "django_htmx",
]

TENANT_APPS = [
    "tenant_apps.audit",
    "tenant_apps.api",
    "tenant_apps.providers",
    "tenant_apps.pipelines",
    "tenant_apps.chatbots",
    "tenant_apps.conversations",
    "tenant_apps.events",
    "tenant_apps.analytics",
    "tenant_apps.channels",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Team"
TENANT_DOMAIN_MODEL = "tenants.Domain"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
TENANT_LIMIT_SET_CALLS = True  # one SET search_path per connection switch, not per cursor

# How new team schemas are built: "clone" (replay the template schema's DDL) or "migrate" (run migrations).
# bench/tenancy.py measures both; see docs/adr/0002-provisioning-by-clone.md.
TEAM_PROVISIONING_METHOD = env_str("TEAM_PROVISIONING_METHOD", "clone")
TEAM_TEMPLATE_SCHEMA = "team_template"
# Spare schemas cloned ahead of signups (ADR 0153): provisioning renames one instead of replaying the DDL. A spare
# is only taken if it was built for this code's migrations. 0 = clone at signup.
TEAM_SPARE_SCHEMAS = env_int("TEAM_SPARE_SCHEMAS", 3)

# Host -> team resolution is cached in-process; at most this often a worker asks Redis whether a team or
# domain changed anywhere (a generation counter), so a suspension takes effect within this many seconds.
TEAM_CACHE_CHECK_SECONDS = env_int("TEAM_CACHE_CHECK_SECONDS", 1)
TEAM_CACHE_MAX_AGE_SECONDS = env_int("TEAM_CACHE_MAX_AGE_SECONDS", 300)
# The cache is bounded (ADR 0064): hosts and schemas of teams per process, least recently used first, and hosts
# that match no team (anyone can invent them) apart, for a short while and at most this many.
TEAM_CACHE_MAX_TEAMS = env_int("TEAM_CACHE_MAX_TEAMS", 2000)
TEAM_CACHE_MAX_UNKNOWN = env_int("TEAM_CACHE_MAX_UNKNOWN", 256)
TEAM_CACHE_UNKNOWN_SECONDS = env_int("TEAM_CACHE_UNKNOWN_SECONDS", 30)

RESERVED_TEAM_SLUGS = frozenset(
    {
        "www",
        "api",
        "app",
        "admin",
        "console",
        "mail",
        "static",
        "media",
        "public",
        "team",
        "teams",
        "help",
        "support",
        "docs",
        "status",
        "billing",
        "auth",
        "login",
        "signup",
        "account",
        "accounts",
        "webhooks",
        "cdn",
        "assets",
        "dashboard",
        "smtp",
        "ftp",
        "ns1",
        "ns2",
        "root",
        "system",
        "test",
    }
)

# Called with team=<Team> inside a newly built team schema (dotted paths; seeds defaults per app).
TEAM_SETUP_HOOKS: list[str] = []

# Called with team=, user=, stdout= inside the demo team by `manage.py setup_demo` (seed demo content per app).
DEMO_SETUP_HOOKS: list[str] = [
    "tenant_apps.providers.demo.demo_setup",  # the demo team's LLM provider (OpenAI, Anthropic or local model)
    "tenant_apps.chatbots.demo.demo_chatbot",  # a published demo chatbot on that provider (after the provider)
]

# Shared services write to a team's audit log through this dotted path (shared code never imports tenant apps).
TEAM_AUDIT_RECORDER = "tenant_apps.audit.services.audit_record"

# A non-member staff user on a team host may borrow a membership from this dotted path (called with request, team,
# view): the console's audited read-only visit (shared_apps/console/impersonation.py, ADR 0130).
TEAM_ACCESS_FALLBACK = "shared_apps.console.impersonation.membership_for_visit"

# Called inside a team's schema by the console's roll-up refresh; each returns figures for the teams list.
TEAM_ROLLUP_COLLECTORS: list[str] = ["tenant_apps.analytics.rollups.team_rollup"]

# Called with team= before a member is invited / before a team is deleted; each may raise an ApplicationError that
# refuses it (billing's plan limits and running subscriptions). Dotted paths: tenants imports no app above it.
TEAM_MEMBER_ADD_CHECKS: list[str] = ["shared_apps.billing.enforcement.member_add_check"]
TEAM_DELETE_CHECKS: list[str] = ["shared_apps.billing.enforcement.team_deletion_check"]

# Team data exports (pg_dump -n <schema> | gzip) are written under <root>/<schema_name>/; see ADR 0014.
TEAM_EXPORT_ROOT = env_str("TEAM_EXPORT_ROOT", str(_ROOT / "var" / "exports"))
TEAM_EXPORT_KEEP = env_int("TEAM_EXPORT_KEEP", 3)  # finished exports kept per team; older files are deleted

# ------------------------------------------------------------------------------
# Django REST framework: one error shape {"code", "message", "extra"} for every API.
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Team API keys (Bearer / X-Api-Key) first, then the browser session; see docs/adr/0012-team-api-keys.md.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenant_apps.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Reads the view's declared required_role on team hosts (tenants.permissions); plain "logged in" on the apex.
    "DEFAULT_PERMISSION_CLASSES": ["tenants.permissions.TeamRolePermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser", "rest_framework.parsers.MultiPartParser"],
    "EXCEPTION_HANDLER": "shared_apps.core.api.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "tenant_apps.api.openapi.ApiAutoSchema",
}

# OpenAPI 3 of the team-host APIs (docs/api.md): served at /api/schema/ with Swagger UI and Redoc from local assets;
# the committed docs/openapi.yaml is checked against the generated one by tests/tenant_apps/api/test_schema.py.
SPECTACULAR_SETTINGS = {
    "TITLE": "Chat studio API",
    "DESCRIPTION": (
        "The management API (`/api/v1/`) and the OpenAI-compatible endpoint (`/api/openai/`) of a team, served on "
        "the team's own host. Authenticate with a team API key: `Authorization: Bearer <key>` or `X-Api-Key`. "
        "Conventions (pagination, errors, throttling, idempotency) are in docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/(v1|openai)/",
    "SCHEMA_PATH_PREFIX_TRIM": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["tenant_apps.api.openapi.only_api_paths"],
    # Every platform a participant or session can be on; a bot-initiated message takes all but "web".
    "ENUM_NAME_OVERRIDES": {"PlatformEnum": "tenant_apps.conversations.enums.Platform"},
}

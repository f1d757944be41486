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
}

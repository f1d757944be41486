"""Every view on a team host declares who may reach it (tenants.access); nothing is open by accident."""

from django.urls import URLPattern, URLResolver, get_resolver

from tenants.access import API, CHANNEL, MEMBERS, OPEN, view_policy

# Views reachable without team membership, each for a reason.
OPEN_ALLOWED = {
    "tenants.views.health_view",  # load balancer health check (liveness)
    "tenants.views.readiness_view",  # readiness probe
    # A staff member's audited read-only visit: the one-time token from the console, and ending it.
    "shared_apps.console.views.visit_enter_view",
    "shared_apps.console.views.visit_end_view",
    "shared_apps.accounts.views.handoff_view",  # redeems the signed login token
    # The public link of a chatbot marked public: anyone may chat with its published version.
    "tenant_apps.conversations.views.public_link.public_chat_view",
    "tenant_apps.conversations.views.public_link.public_send_view",
    "tenant_apps.conversations.views.public_link.public_start_send_view",  # the first message starts the session
    "tenant_apps.conversations.views.public_link.public_start_consent_view",  # "I agree" before the first message
    "tenant_apps.conversations.views.public_link.public_reply_view",
    "tenant_apps.conversations.views.public_link.public_consent_view",
    "tenant_apps.conversations.views.public_link.public_file_view",
    # The OpenAPI document and its viewers describe the API's code, never a team's data (docs/api.md).
    "tenant_apps.api.schema.SchemaApi",
    "tenant_apps.api.schema.SwaggerUiView",
    "tenant_apps.api.schema.RedocView",
}


def iter_views(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from iter_views(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def qualified(view):
    target = getattr(view, "view_class", None) or getattr(view, "cls", None) or view
    return f"{target.__module__}.{target.__qualname__}"


def test_every_tenant_view_has_a_known_policy():
    for route, view in iter_views(get_resolver("config.urls_tenant")):
        access, _role = view_policy(view)
        assert access in {MEMBERS, OPEN, API, CHANNEL}, f"{route} has unknown access {access!r}"


def test_open_views_on_team_hosts_are_the_allowed_ones():
    opened = {
        qualified(view) for _, view in iter_views(get_resolver("config.urls_tenant")) if view_policy(view)[0] == OPEN
    }

    assert opened <= OPEN_ALLOWED, f"unexpected open views: {opened - OPEN_ALLOWED}"

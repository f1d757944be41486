"""Node types. Importing this package registers every type in ``NODE_TYPES`` (the order is the palette order)."""

from tenant_apps.pipelines.nodes import basic, code, email, extract, http, llm, routers, template
from tenant_apps.pipelines.nodes.base import NODE_TYPES, NodeParams, NodeType

__all__ = [
    "NODE_TYPES",
    "NodeParams",
    "NodeType",
    "basic",
    "code",
    "email",
    "extract",
    "http",
    "llm",
    "routers",
    "template",
]

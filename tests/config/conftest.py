"""The page walk (test_pages_render) fills URLs with the chatbot fixtures the tenant-app tests use."""

from tests.tenant_apps.conftest import chatbot, fake_provider, owner  # noqa: F401 (fixtures)

"""The SHARED/TENANT contract: public code in SHARED_APPS only, team code in TENANT_APPS only."""

from django.apps import apps
from django.conf import settings


def test_tenant_apps_are_only_in_tenant_apps():
    for app in settings.TENANT_APPS:
        assert app.startswith("tenant_apps."), f"{app} must live under tenant_apps/"
        assert app not in settings.SHARED_APPS, f"{app} is in both SHARED_APPS and TENANT_APPS"


def test_every_tenant_apps_package_is_installed_as_tenant_app():
    installed = {config.name for config in apps.get_app_configs() if config.name.startswith("tenant_apps.")}

    assert installed == set(settings.TENANT_APPS)


def test_shared_apps_and_tenants_are_only_in_shared_apps():
    for config in apps.get_app_configs():
        if config.name.startswith(("shared_apps.", "tenants")):
            assert config.name in settings.SHARED_APPS, f"{config.name} must be in SHARED_APPS"
            assert config.name not in settings.TENANT_APPS


def test_public_models_never_reference_team_tables():
    tenant_labels = {apps.get_app_config(name.rsplit(".", 1)[-1]).label for name in settings.TENANT_APPS}
    for model in apps.get_models():
        if model._meta.app_label in tenant_labels:
            continue
        for field in model._meta.get_fields():
            related = getattr(field, "related_model", None)
            if related is not None and field.concrete:
                assert related._meta.app_label not in tenant_labels, (
                    f"{model._meta.label}.{field.name} (public) points at team table {related._meta.label}"
                )

from __future__ import annotations

from django.db.models import QuerySet

from tenant_apps.api.models import ApiKey


def api_key_list(*, include_revoked: bool = True) -> QuerySet[ApiKey]:
    qs = ApiKey.objects.select_related("created_by")  # no team filter: the schema is the team
    return qs if include_revoked else qs.filter(revoked_at__isnull=True)


def api_key_get(*, key_id: int) -> ApiKey | None:
    return ApiKey.objects.filter(pk=key_id).first()

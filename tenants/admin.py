from django.contrib import admin

from tenants.models import Domain, Membership, Team


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "schema_name", "status", "plan_code", "created_at")
    list_filter = ("status", "plan_code")
    search_fields = ("name", "slug")
    readonly_fields = ("schema_name", "created_at", "updated_at", "provisioned_at", "storage_bytes")
    inlines = [DomainInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "team", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "team__slug")

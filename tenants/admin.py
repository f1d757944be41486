from django.contrib import admin

from tenants.models import Domain, Invitation, Membership, Team, TeamExport


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


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "team", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("email", "team__slug")
    readonly_fields = ("token_hash", "created_at", "sent_at", "send_count", "accepted_at", "accepted_by")


@admin.register(TeamExport)
class TeamExportAdmin(admin.ModelAdmin):
    list_display = ("team", "status", "size_bytes", "created_at", "finished_at")
    list_filter = ("status",)
    search_fields = ("team__slug",)
    readonly_fields = ("file_path", "size_bytes", "error", "created_at", "started_at", "finished_at")

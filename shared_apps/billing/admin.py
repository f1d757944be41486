"""Staff edit plans here; everything else is shown read-only (Stripe and the turn path write it)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from shared_apps.billing.models import BillingAccount, Invoice, MeterEvent, Plan, Subscription, WebhookEvent
from shared_apps.billing.plans import prices_of
from shared_apps.billing.snapshot import billing_changed


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "name",
        "code",
        "price_monthly",
        "max_chatbots",
        "max_members",
        "max_channels",
        "max_ai_messages",
        "max_concurrent_turns",
        "is_default",
        "is_public",
        "stripe_prices",
    )
    list_editable = ("is_public",)
    search_fields = ("name", "code")
    readonly_fields = ("stripe_prices",)

    @admin.display(description="Stripe prices (settings: STRIPE_PRICES)")
    def stripe_prices(self, plan: Plan) -> str:
        flat, metered = prices_of(plan.code)
        return " + ".join(price for price in (flat, metered) if price) or "not configured"

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        billing_changed()  # every process's cached limits follow within a second


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyAdmin):
    list_display = ("team", "plan", "stripe_customer_id", "spend_cap", "cap_action", "updated_at")
    search_fields = ("team__slug", "team__name", "stripe_customer_id")
    list_select_related = ("team", "plan")


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("stripe_subscription_id", "team", "plan", "status", "current_period_end", "payment_failed_at")
    list_filter = ("status",)
    search_fields = ("stripe_subscription_id", "team__slug")
    list_select_related = ("team", "plan")


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("stripe_invoice_id", "team", "number", "status", "amount_due", "currency", "created")
    list_filter = ("status",)
    search_fields = ("stripe_invoice_id", "number", "team__slug")


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "team", "outcome", "created", "received_at")
    list_filter = ("type",)
    search_fields = ("event_id",)


@admin.register(MeterEvent)
class MeterEventAdmin(ReadOnlyAdmin):
    list_display = ("identifier", "team", "event_name", "value", "timestamp", "status", "attempts", "error")
    list_filter = ("status", "event_name")
    search_fields = ("identifier", "team__slug")

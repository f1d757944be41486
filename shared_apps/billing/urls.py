"""Team-host URLs of billing (namespace ``billing``), under ``/settings/billing/``."""

from django.urls import path

from shared_apps.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.billing_view, name="overview"),
    path("invoices/", views.invoice_list_view, name="invoice_list"),
    path("checkout/", views.checkout_view, name="checkout"),
    path("checkout/done/", views.checkout_done_view, name="checkout_done"),
    path("portal/", views.portal_view, name="portal"),
    path("spend-caps/", views.spend_caps_view, name="spend_caps"),
    path("chatbot-caps/<int:chatbot_id>/", views.chatbot_cap_view, name="chatbot_cap"),
]

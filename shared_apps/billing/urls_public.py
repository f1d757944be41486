"""Apex URLs of billing: the Stripe webhook (signed by Stripe; no team in its host)."""

from django.urls import path

from shared_apps.billing import views

app_name = "billing_public"

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook_view, name="stripe_webhook"),
]

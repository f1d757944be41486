"""The three starting plans (staff edit them in the admin afterwards; Stripe prices come from settings)."""

from decimal import Decimal

from django.db import migrations

PLANS = [
    {
        "code": "free",
        "name": "Free",
        "description": "For trying things out.",
        "price_monthly": Decimal("0"),
        "max_chatbots": 3,
        "max_members": 3,
        "max_channels": 1,
        "max_ai_messages": 300,
        "max_concurrent_turns": 2,
        "is_default": True,
        "is_public": False,
        "sort_order": 10,
    },
    {
        "code": "pro",
        "name": "Pro",
        "description": "For a team running chatbots in production.",
        "price_monthly": Decimal("29"),
        "max_chatbots": 20,
        "max_members": 10,
        "max_channels": 10,
        "max_ai_messages": 10000,
        "max_concurrent_turns": 10,
        "is_default": False,
        "is_public": True,
        "sort_order": 20,
    },
    {
        "code": "business",
        "name": "Business",
        "description": "For organisations with many chatbots and channels.",
        "price_monthly": Decimal("199"),
        "max_chatbots": None,
        "max_members": 50,
        "max_channels": None,
        "max_ai_messages": 100000,
        "max_concurrent_turns": 50,
        "is_default": False,
        "is_public": True,
        "sort_order": 30,
    },
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for values in PLANS:
        Plan.objects.get_or_create(code=values["code"], defaults=values)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

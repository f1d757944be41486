# ------------------------------------------------------------------------------
# Billing with Stripe (shared_apps.billing; ADR 0120). Without both Stripe keys billing is off: every team is on
# an unlimited plan and nothing is sent to Stripe.
# ------------------------------------------------------------------------------
from config.env import env_int, env_list, env_str

STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
# Where the official client sends API calls (tests point it at a loopback double).
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 20)


def _prices(entries: list[str]) -> dict[str, dict[str, str]]:
    """``pro=price_flat+price_metered,business=price_x`` -> {"pro": {"flat": ..., "metered": ...}, ...}."""
    prices: dict[str, dict[str, str]] = {}
    for entry in entries:
        code, _, ids = entry.partition("=")
        flat, _, metered = ids.partition("+")
        prices[code.strip()] = {"flat": flat.strip(), "metered": metered.strip()}
    return prices


# The Stripe price ids of each plan (by plan code): a flat monthly price and an optional metered price.
STRIPE_PRICES = _prices(env_list("STRIPE_PRICES"))
# Meter event names: AI messages are reported when a plan has a metered price; model cost only when named.
STRIPE_METER_AI_MESSAGES = env_str("STRIPE_METER_AI_MESSAGES", "ai_messages")
STRIPE_METER_MODEL_COST = env_str("STRIPE_METER_MODEL_COST", "")
# The identifiers we send Stripe (meter events, idempotency keys) start with this: distinct per installation
# sharing a Stripe account.
STRIPE_IDENTIFIER_PREFIX = env_str("STRIPE_IDENTIFIER_PREFIX", "cs")

# A failed payment: the team keeps working with a banner this many days, then becomes read-only until paid.
BILLING_GRACE_DAYS = env_int("BILLING_GRACE_DAYS", 7)
BILLING_CURRENCY = env_str("BILLING_CURRENCY", "usd")
# The per-process billing snapshot (plan, limits, caps, payment state): how often a process asks Redis whether
# billing changed anywhere, and the longest an entry lives if Redis cannot be reached.
BILLING_CACHE_CHECK_SECONDS = env_int("BILLING_CACHE_CHECK_SECONDS", 1)
BILLING_CACHE_MAX_AGE_SECONDS = env_int("BILLING_CACHE_MAX_AGE_SECONDS", 300)

# Team-schema data that billing reads without importing team code (dotted paths, called inside the team).
BILLING_CHATBOT_COUNTER = "tenant_apps.chatbots.selectors.chatbot_count"  # () -> int, active chatbots
BILLING_CHATBOT_CHOICES = "tenant_apps.chatbots.selectors.chatbot_choices"  # () -> [(id, name)]
BILLING_MODEL_CHOICES = "tenant_apps.providers.selectors.llm_choices"  # () -> [(provider_id, provider, [models])]
BILLING_CHANNEL_COUNTER = ""  # channels do not exist yet: their create service passes its own count

# ------------------------------------------------------------------------------
# Channels (ADR 0100): the widget chat API, custom API channels, outbound sends.
# ------------------------------------------------------------------------------
from config.env import env_bool, env_int, env_str

# CORS applies to the widget chat API only (shared_apps/core/cors.py).
CHAT_CORS_URLS_REGEX = r"^/api/(v1/)?chat/"

# Widget session tokens (SESSION_TOKEN channels) have an absolute lifetime, as Open Chat Studio's (7 days).
CHAT_SESSION_TOKEN_LIFETIME = env_int("CHAT_SESSION_TOKEN_LIFETIME", 7 * 24 * 3600)

# Widget chat API limits per client address and per session ("<count>/<seconds>"); preflights are never counted.
CHAT_API_RATE_LIMIT = env_str("CHAT_API_RATE_LIMIT", "120/60")
CHAT_API_START_RATE_LIMIT = env_str("CHAT_API_START_RATE_LIMIT", "20/60")

# Widget versions below this get Deprecation/Sunset headers (real-clients §1.5); the sunset date they are told.
CHAT_WIDGET_MIN_VERSION = env_str("CHAT_WIDGET_MIN_VERSION", "0.6.0")
CHAT_WIDGET_SUNSET = env_str("CHAT_WIDGET_SUNSET", "Wed, 30 Jun 2027 00:00:00 GMT")
CHAT_WIDGET_DOCS_URL = env_str("CHAT_WIDGET_DOCS_URL", "https://www.npmjs.com/package/open-chat-studio-widget")

# Custom API channels: the replay window of a signed request, and the outbound callback's retries.
CUSTOM_API_REPLAY_WINDOW_SECONDS = env_int("CUSTOM_API_REPLAY_WINDOW_SECONDS", 300)
CHANNEL_SEND_MAX_RETRIES = env_int("CHANNEL_SEND_MAX_RETRIES", 5)
CHANNEL_SEND_TIMEOUT_SECONDS = env_int("CHANNEL_SEND_TIMEOUT_SECONDS", 10)

# The platforms' API base URLs are PLATFORM_API_URLS (providers.py): "Test connection" and the senders share them.

# Twilio signs the URL it posted to (X-Twilio-Signature). By default the URL checked is the channel's public
# webhook URL as shown on its page (SITE_SCHEME, the team host, SITE_PORT and the path), whatever a proxy in front
# rewrote. Set TWILIO_WEBHOOK_URL_FROM_REQUEST=1 to check the URL the request arrived at instead
# (``build_absolute_uri``: X-Forwarded-Proto through SECURE_PROXY_SSL_HEADER, X-Forwarded-Host only with
# USE_X_FORWARDED_HOST); see docs/channels/twilio.md.
TWILIO_WEBHOOK_URL_FROM_REQUEST = env_bool("TWILIO_WEBHOOK_URL_FROM_REQUEST", False)

# ------------------------------------------------------------------------------
# Security: secrets encryption keys; production hardening lives in production.py.
# ------------------------------------------------------------------------------
from config.env import env_bool, env_list

# MultiFernet keys for credentials at rest, newest first. Dev/test derive one from SECRET_KEY.
FERNET_KEYS = env_list("FERNET_KEYS")

# Outbound HTTP to user-configured URLs refuses private/loopback addresses unless this is on (dev, tests).
ALLOW_PRIVATE_URLS = env_bool("ALLOW_PRIVATE_URLS", False)

CSRF_COOKIE_HTTPONLY = False  # htmx reads it from the cookie
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

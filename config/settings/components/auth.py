# ------------------------------------------------------------------------------
# Authentication: global users (public schema), email login with django-allauth on the apex.
# ------------------------------------------------------------------------------
from config.env import env_bool, env_int, env_str

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "public:home"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory" if env_bool("REQUIRE_EMAIL_VERIFICATION", True) else "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# Abuse limits. RATE_LIMITS_ENABLED=false switches allauth's and ours off: for benchmarks and load tests only.
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
ACCOUNT_RATE_LIMITS: dict[str, str] | bool = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/h/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
if not RATE_LIMITS_ENABLED:
    ACCOUNT_RATE_LIMITS = False
ACCOUNT_ADAPTER = "shared_apps.accounts.adapters.AccountAdapter"
ACCOUNT_FORMS = {"signup": "shared_apps.accounts.forms.SignupForm"}
ACCOUNT_CHANGE_EMAIL = True  # one address per user; a new one replaces the old once it is verified
ACCOUNT_EMAIL_NOTIFICATIONS = True  # tell the user by email when their password or address changes
ACCOUNT_EMAIL_CONFIRMATION_ANONYMOUS_REDIRECT_URL = "account_login"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Chat Studio"

# Invitations (tenants.Invitation): how long an accept link works; a resend issues a new link and expiry.
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 7)

# Our own abuse limits (shared_apps.core.ratelimit) for what allauth does not cover: "<count>/<seconds>".
APP_RATE_LIMITS_ENABLED = RATE_LIMITS_ENABLED
APP_RATE_LIMITS = {
    "signup.subdomain_check": "60/60",  # per IP: the live subdomain check while typing
    "team.create": "5/3600",  # per user: extra teams from the team picker
    "team.provision_retry": "5/3600",  # per team
    "team.export": "6/3600",  # per team
    "invitation.create.team": "50/3600",  # per team (invites and resends)
    "invitation.create.user": "30/600",  # per inviting user
    "invitation.resend": "3/600",  # per invitation
    "invitation.accept": "30/600",  # per IP: opening and accepting accept links
    # Anonymous chat (public links; ADR 0067). A visitor is an address: clearing cookies makes a new participant.
    "public_chat.message.visitor": "20/60",  # per visitor: messages sent
    "public_chat.message.chatbot": "300/60",  # per chatbot: messages from all its visitors together
    "public_chat.session.visitor": "10/600",  # per visitor: new sessions (first visits and "new session")
    "public_chat.session.chatbot": "200/600",  # per chatbot: new anonymous sessions together
    # The management API and the OpenAI-compatible endpoint (ADR 0110): per API key (or member).
    "api.key": env_str("API_RATE_LIMIT", "600/60"),
}

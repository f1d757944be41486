# ------------------------------------------------------------------------------
# Service providers and the LLM layer (tenant_apps.providers; ADR 0022-0024).
# ------------------------------------------------------------------------------
from config.env import env_int, env_str

# Model calls: read timeout per request, and our own bounded retries on 429/5xx/timeouts (Retry-After honoured
# up to LLM_MAX_RETRY_WAIT_SECONDS; a longer wait raises at once so the task layer can retry later).
LLM_REQUEST_TIMEOUT_SECONDS = env_int("LLM_REQUEST_TIMEOUT_SECONDS", 60)
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 2)
LLM_MAX_RETRY_WAIT_SECONDS = env_int("LLM_MAX_RETRY_WAIT_SECONDS", 10)

# "Test connection" calls: one short attempt, no retries.
PROVIDER_CHECK_TIMEOUT_SECONDS = env_int("PROVIDER_CHECK_TIMEOUT_SECONDS", 15)

# Where the messaging platforms' APIs live (tests point these at a loopback fake).
PLATFORM_API_URLS = {
    "telegram": env_str("TELEGRAM_API_URL", "https://api.telegram.org"),
    "twilio": env_str("TWILIO_API_URL", "https://api.twilio.com"),
    "slack": env_str("SLACK_API_URL", "https://slack.com/api/"),
    "meta_graph": env_str("META_GRAPH_API_URL", "https://graph.facebook.com/v25.0"),
}

# Dotted paths of callables ``(provider) -> list[str]`` naming what still uses a provider; deleting is refused
# while any answers. Apps that reference providers (chatbots, pipelines, channels) add theirs here.
PROVIDER_USAGE_CHECKS: list[str] = [
    "tenant_apps.pipelines.selectors.pipeline_llm_provider_usage",
    "tenant_apps.channels.selectors.channel_provider_usage",
]

# The demo team's LLM (manage.py setup_demo): OpenAI if OPENAI_API_KEY is set, else Anthropic if
# ANTHROPIC_API_KEY is set, else the local SmolLM2 server that infra/dev/local_llm.py runs (no key needed).
DEMO_OPENAI_API_KEY = env_str("OPENAI_API_KEY", "")
DEMO_ANTHROPIC_API_KEY = env_str("ANTHROPIC_API_KEY", "")
LOCAL_LLM_BASE_URL = env_str("LOCAL_LLM_BASE_URL", "http://127.0.0.1:8011/v1")
LOCAL_LLM_MODEL = env_str("LOCAL_LLM_MODEL", "smollm2")
# Where infra/dev/local_llm.py reports its progress (development only: config/settings/local.py sets it); the demo
# chatbot's pages show it until the model answers. Empty: no local model to wait for.
LOCAL_LLM_STATUS_FILE = env_str("LOCAL_LLM_STATUS_FILE", "")

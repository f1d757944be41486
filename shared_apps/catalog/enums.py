from django.db import models


class LlmApi(models.TextChoices):
    """The wire protocol (and SDK) a provider type speaks. Every OpenAI-compatible preset uses ``openai``."""

    OPENAI = "openai", "OpenAI-compatible"
    AZURE_OPENAI = "azure_openai", "Azure OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"

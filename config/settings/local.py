"""Developer machine: works with no configuration (PostgreSQL and Redis on localhost, mail to var/mail).

Error pages are the product's own (404/403/500), as in production; ``DEBUG=true`` asks for Django's debug pages.
"""

import os
from pathlib import Path

os.environ.setdefault("ALLOW_PRIVATE_URLS", "true")
os.environ.setdefault("SITE_PORT", "8000")
os.environ.setdefault(
    "LOCAL_LLM_STATUS_FILE", str(Path(__file__).resolve().parents[2] / "var" / "run" / "local-llm.json")
)

from config.settings.base import *  # DEBUG comes from the environment (off unless DEBUG=true)

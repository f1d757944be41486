"""Developer machine: works with no configuration (PostgreSQL and Redis on localhost, mail to var/mail)."""

import os

os.environ.setdefault("ALLOW_PRIVATE_URLS", "true")
os.environ.setdefault("SITE_PORT", "8000")
os.environ.setdefault("DEBUG", "true")

from config.settings.base import *  # DEBUG comes from the environment (on unless DEBUG=false, as in the benchmarks)

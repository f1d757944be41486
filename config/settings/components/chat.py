# ------------------------------------------------------------------------------
# Web chat (in-app and public link): long polls and uploads.
# ------------------------------------------------------------------------------
from config.env import env_int

# Long polls (a send waiting for its reply, or a pending bubble) waiting at once per web process; the rest are
# answered at once and asked again a second later. Keep it below gunicorn's --threads (32) so pages always find a
# thread.
CHAT_LONG_POLL_SLOTS = env_int("CHAT_LONG_POLL_SLOTS", 24)
CHAT_UPLOAD_MAX_BYTES = env_int("CHAT_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
CHAT_UPLOAD_MAX_FILES = env_int("CHAT_UPLOAD_MAX_FILES", 5)

# Fair share (ADR 0090 §8): a team's turns in flight across all chat workers, unless its plan sets another cap; a
# turn over it waits on the queue. A slot whose worker died frees itself after the lease.
CHAT_TEAM_CONCURRENCY = env_int("CHAT_TEAM_CONCURRENCY", 100)
CHAT_TEAM_SLOT_LEASE_SECONDS = env_int("CHAT_TEAM_SLOT_LEASE_SECONDS", 180)

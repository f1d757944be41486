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

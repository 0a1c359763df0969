#!/usr/bin/env bash
# Runs the local AWS sandbox (sandbox/server.py: moto extended to behave like ECS) in the
# background.
#
#   scripts/sandbox.sh start [server.py options...]   start (seeded) unless running; print exports
#   scripts/sandbox.sh stop                           stop it
#   scripts/sandbox.sh env                            print the export lines again
#   scripts/sandbox.sh status                         say whether it runs, and where
#
#   eval "$(scripts/sandbox.sh start --task-start-delay 0.5)"
#
# Environment: ROLLBACK_SANDBOX_DIR (state: pid, port, log; default /tmp/rollback-sandbox),
# ROLLBACK_SANDBOX_PORT (default 0: a free port), ROLLBACK_SANDBOX_SEED=0 (start empty),
# ROLLBACK_PYTHON (interpreter with moto and boto3).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${ROLLBACK_SANDBOX_DIR:-/tmp/rollback-sandbox}"
PID_FILE="$STATE_DIR/server.pid"
PORT_FILE="$STATE_DIR/port"
LOG_FILE="$STATE_DIR/server.log"
# Seeding takes about a second; moto's first import a few more on a cold machine.
START_TIMEOUT_S=60
STOP_TIMEOUT_S=10
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

die() { echo "sandbox.sh: $*" >&2; exit 1; }

find_python() { find_moto_python; }

# The pid from the pid file, if that process is still our server.
running_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'sandbox/server.py' || return 1
  echo "$pid"
}

url() {
  [[ -s "$PORT_FILE" ]] || return 1
  echo "http://127.0.0.1:$(tr -d '[:space:]' <"$PORT_FILE")"
}

print_env() {
  local base region
  base="$(url)" || die "no port file in $STATE_DIR"
  region="$(curl -fsS --max-time 5 "$base/_sandbox/config" | sed -n 's/.*"region": *"\([^"]*\)".*/\1/p')"
  [[ -n "$region" ]] || die "the sandbox at $base does not answer"
  cat <<EOF
export AWS_ENDPOINT_URL=$base
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=$region
export AWS_DEFAULT_REGION=$region
export AWS_EC2_METADATA_DISABLED=true
export ROLLBACK_SANDBOX_URL=$base
EOF
}

start() {
  if running_pid >/dev/null; then
    echo "sandbox.sh: already running ($(url))" >&2
    print_env
    return 0
  fi
  local py
  py="$(find_python)" || die "no Python with moto and boto3 (set ROLLBACK_PYTHON)"
  mkdir -p "$STATE_DIR"
  rm -f "$PORT_FILE" "$PID_FILE"
  local args=(--port "${ROLLBACK_SANDBOX_PORT:-0}" --port-file "$PORT_FILE")
  [[ "${ROLLBACK_SANDBOX_SEED:-1}" == 0 ]] || args+=(--seed)
  # setsid: not in our process group, so a Ctrl-C in the calling shell does not stop it.
  setsid "$py" "$ROOT/sandbox/server.py" "${args[@]}" "$@" >"$LOG_FILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT_S))
  until [[ -s "$PORT_FILE" ]] && curl -fsS --max-time 2 "$(url)/_sandbox/ping" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 30 "$LOG_FILE" >&2 || true
      die "the sandbox exited during start (log: $LOG_FILE)"
    fi
    if ((SECONDS > deadline)); then
      kill "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      die "the sandbox did not answer within ${START_TIMEOUT_S}s (log: $LOG_FILE)"
    fi
    sleep 0.1
  done
  echo "sandbox.sh: started pid $pid at $(url) (log: $LOG_FILE)" >&2
  print_env
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE" "$PORT_FILE"
    echo "sandbox.sh: not running" >&2
    return 0
  fi
  kill -TERM "$pid"
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS > deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  rm -f "$PID_FILE" "$PORT_FILE"
  echo "sandbox.sh: stopped pid $pid" >&2
}

cmd="${1:-}"
[[ $# -gt 0 ]] && shift
case "$cmd" in
  start) start "$@" ;;
  stop) stop ;;
  env)
    running_pid >/dev/null || die "not running (scripts/sandbox.sh start)"
    print_env
    ;;
  status)
    if pid="$(running_pid)"; then echo "running: pid $pid, $(url), log $LOG_FILE"; else echo "not running"; exit 1; fi
    ;;
  *) die "usage: scripts/sandbox.sh start [server options...] | stop | env | status" ;;
esac

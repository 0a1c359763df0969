#!/usr/bin/env bash
# The README's first quick-start command: installs what is needed, builds rollback, starts the
# local AWS sandbox (moto extended to behave like ECS, seeded with the runbook's connect2-api
# fleet) and performs a real emergency rollback of prod against it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

scripts/install-deps.sh
PY=$(find_moto_python)

echo "== build"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(jobs_for_build)"
BIN="$PWD/build/release/rollback"

DEMO=$(mktemp -d /tmp/rollback-demo-XXXXXX)
cleanup() {
  [[ -n "${SANDBOX_PID:-}" ]] && kill "$SANDBOX_PID" 2>/dev/null || true
  rm -rf "$DEMO"
}
trap cleanup EXIT

echo "== start the sandbox"
"$PY" sandbox/server.py --seed --port 0 --port-file "$DEMO/port" --task-start-delay "${DEMO_TASK_DELAY:-3}" --quiet \
  >"$DEMO/sandbox.log" 2>&1 &
SANDBOX_PID=$!
for _ in $(seq 1 300); do [[ -s "$DEMO/port" ]] && break; sleep 0.1; done
[[ -s "$DEMO/port" ]] || { cat "$DEMO/sandbox.log"; echo "sandbox did not start" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$DEMO/port")"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export XDG_STATE_HOME="$DEMO/state"
cat >"$DEMO/rollback.yaml" <<YAML
app: connect2-api
region: us-east-1
environments:
  dev:     { branch: development }
  staging: { branch: staging }
  prod:    { branch: main, protected: true, health_url: "$AWS_ENDPOINT_URL/_sandbox/health/connect2-api-cluster-prod/connect2-api-service-prod",
             verify: { bake: 15s } }
YAML
cd "$DEMO"

run() { echo; echo "\$ $*"; "$@"; }
run "$BIN" status --env prod
run "$BIN" ecs --env prod --dry-run
run "$BIN" ecs --env prod --yes --reason "demo: revision 6 returns 500s"
run "$BIN" history

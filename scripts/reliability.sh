#!/usr/bin/env bash
# The reliability figures of issue 8 (docs/RELIABILITY.md):
#   R1 faults, R2 kills, R3 concurrency, R4 state restore under faults (tests/reliability/),
#   R5 fuzzing (scripts/fuzz.sh), R6 secrets across the whole e2e suite, R7 hostile inputs.
# Usage: scripts/reliability.sh [--short] [--no-build]
#   --short     the small version CI runs (a few runs per figure, 10 s of fuzzing per target)
#   --medium    about a third of the full run (60 s of fuzzing per target); also rewrites the docs
#   --capture DIR  R6 scans DIR, captured by an earlier e2e run (ROLLBACK_E2E_CAPTURE=DIR), instead
#               of running the e2e suite again (scripts/test.sh does this)
#   (default)   the full measurement: 100 / 50 per layer / 100 / 40 runs, 5 min of fuzzing per
#               target; writes docs/RELIABILITY.md's figures table and the README's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

size=full
build=1
capture=""
while (($#)); do
  case "$1" in
    --short) size=short; shift ;;
    --medium) size=medium; shift ;;
    --no-build) build=0; shift ;;
    --capture) capture="$2"; shift 2 ;;
    *) echo "usage: scripts/reliability.sh [--short|--medium] [--no-build] [--capture DIR]" >&2; exit 2 ;;
  esac
done

PY=$(find_moto_python)
export PATH="$(dirname "$PY"):$PATH"
if ((build)); then
  scripts/install-deps.sh
  cmake --preset dev -DROLLBACK_PYTHON="$PY" >/dev/null
  cmake --build --preset dev -j "$(jobs_for_build)"
fi
export ROLLBACK_BIN="${ROLLBACK_BIN:-$PWD/build/dev/rollback}"
out=$(mktemp -d /tmp/rollback-reliability-XXXXXX)
trap 'rm -rf "$out"' EXIT

status=0
echo "== R1-R4 ($size)"
"$PY" tests/reliability/reliability.py run --size "$size" --json "$out/run.json" || status=1

echo "== R5 fuzzing"
fuzz_seconds=300
[[ $size == medium ]] && fuzz_seconds=60
[[ $size == short ]] && fuzz_seconds=10
scripts/fuzz.sh "$fuzz_seconds" --json "$out/fuzz.json" || status=1

echo "== R6 secrets (the whole e2e suite, captured)"
if [[ -z "$capture" ]]; then
  capture="$out/capture"
  mkdir -p "$capture"
  ROLLBACK_E2E_CAPTURE="$capture" ctest --preset dev -L e2e -j 2 >"$out/e2e.log" 2>&1 || {
    echo "reliability: the e2e suite failed; see below" >&2; tail -50 "$out/e2e.log" >&2; status=1; }
fi
"$PY" tests/reliability/reliability.py secrets --capture "$capture" --json "$out/secrets.json" || status=1

echo "== R7 hostile inputs"
(cd tests/e2e && "$PY" ../reliability/reliability.py hostile --json "$out/hostile.json") || status=1

if [[ $size != short ]]; then
  "$PY" tests/reliability/render.py "$out" docs/RELIABILITY.md README.md
  echo "reliability: figures written to docs/RELIABILITY.md and README.md"
fi
exit "$status"

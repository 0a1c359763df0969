#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, the `fuzz` preset: clang, ASan + UBSan) and runs each for a
# fixed time, starting from the corpus kept in fuzz/corpus/<target>/ (figure R5 of issue 8).
# New inputs go to a scratch folder, not into the repository; a crash is kept in
# build/fuzz/crashes/<target>/ and fails the run: add it to the corpus as a regression test.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [--json OUT] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

seconds=60
json=""
targets=()
while (($#)); do
  case "$1" in
    --json) json="$2"; shift 2 ;;
    [0-9]*) seconds="$1"; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(config tfstate plan alembic_script aws_response redact)

scripts/install-deps.sh --fuzz >/dev/null
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing after scripts/install-deps.sh --fuzz" >&2; exit 2; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(jobs_for_build)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

scratch=$(mktemp -d /tmp/rollback-fuzz-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
results=()
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "build/fuzz/crashes/$t"
  log="$scratch/$t.log"
  set +e
  # -rss_limit_mb: the tool's inputs are bounded; a target needing more than this is a finding.
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "build/fuzz/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -artifact_prefix="build/fuzz/crashes/$t/" -print_final_stats=1 \
    "$scratch/$t" "fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  if ((rc == 0)); then
    echo "fuzz: $t: ${seconds}s, $runs executions, no crash"
  else
    failed=1
    echo "fuzz: $t: FAILED after $runs executions (exit $rc); reproducer in build/fuzz/crashes/$t/" >&2
    tail -40 "$log" >&2
  fi
  results+=("{\"target\": \"$t\", \"seconds\": $seconds, \"executions\": ${runs:-0}, \"crashed\": $([[ $rc == 0 ]] && echo false || echo true)}")
done
if [[ -n "$json" ]]; then
  (IFS=,; echo "{\"fuzz\": [${results[*]}]}") >"$json"
fi
exit "$failed"

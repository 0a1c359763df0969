#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test once, under AddressSanitizer +
# UndefinedBehaviorSanitizer (the `asan` preset: Debug, warnings are errors), then the short
# reliability run on that binary, then builds the release preset with warnings as errors and
# checks its .deb. One sanitized pass instead of a plain pass plus a sanitized one: the same tests
# and the same code, one build fewer (docs/BUILD.md has the measured CI times).
# Usage: scripts/test.sh [--no-asan] [ctest args...]
#   --no-asan: the same pass on the `dev` preset (no sanitizers), for a faster local loop.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

preset=asan
if [[ "${1:-}" == "--no-asan" ]]; then preset=dev; shift; fi

scripts/install-deps.sh
PY=$(find_moto_python)
export PATH="$(dirname "$PY"):$PATH"
started=$SECONDS
stamp() { echo "== $1 ($((SECONDS - started)) s since the build started)"; }

stamp "build ($preset)"
cmake --preset "$preset" -DROLLBACK_PYTHON="$PY" >/dev/null
cmake --build --preset "$preset" -j "$(jobs_for_build)"
# Every Debian package the build used must be installed by install-deps.sh.
stamp check-deps
scripts/check-deps.sh --build-dir "build/$preset"

stamp "test ($preset)"
# The test pass keeps everything the tool writes, for the secrets figure (R6) below.
capture=$(mktemp -d /tmp/rollback-capture-XXXXXX)
trap 'rm -rf "$capture"' EXIT
# Sanitizer reports must fail the run; leak checking is on by default with ASan.
ROLLBACK_E2E_CAPTURE="$capture" \
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  ctest --preset "$preset" -j "$(jobs_for_tests)" "$@"
if [[ $# -eq 0 ]]; then
  # The short reliability run (docs/RELIABILITY.md): fails on any broken safety promise.
  stamp "reliability (short)"
  # Its figure is kept in build/<preset>/secrets.json for tests/reliability/render.py (R6).
  ROLLBACK_BIN="$PWD/build/$preset/rollback" "$PY" tests/reliability/reliability.py secrets --capture "$capture" \
    --json "build/$preset/secrets.json"
  ROLLBACK_BIN="$PWD/build/$preset/rollback" "$PY" tests/reliability/reliability.py run --size short
fi

# The release build, warnings as errors (the optimiser finds warnings the debug builds do not),
# packaged as a .deb and installed into a temporary root (tests/scripts/test_package.sh).
stamp "build (release, warnings are errors)"
cmake --preset release -DROLLBACK_WERROR=ON >/dev/null
cmake --build --preset release -j "$(jobs_for_build)"
stamp "package (release)"
tests/scripts/test_package.sh build/release
stamp done

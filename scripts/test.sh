#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit + end-to-end in the dev build,
# then the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer, then builds
# the release preset with warnings as errors and checks its .deb.
# Usage: scripts/test.sh [--no-asan] [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

asan=1
if [[ "${1:-}" == "--no-asan" ]]; then asan=0; shift; fi

scripts/install-deps.sh
PY=$(find_moto_python)
export PATH="$(dirname "$PY"):$PATH"

presets=(dev)
((asan)) && presets+=(asan)
for preset in "${presets[@]}"; do
  echo "== build ($preset)"
  cmake --preset "$preset" -DROLLBACK_PYTHON="$PY" >/dev/null
  cmake --build --preset "$preset" -j "$(jobs_for_build)"
  if [[ "$preset" == dev ]]; then
    # Every Debian package the build used must be installed by install-deps.sh.
    echo "== check-deps"
    scripts/check-deps.sh --build-dir build/dev
  fi
  echo "== test ($preset)"
  # The dev pass keeps everything the tool writes, for the secrets figure (R6) below.
  capture=""
  if [[ "$preset" == dev ]]; then
    capture=$(mktemp -d /tmp/rollback-capture-XXXXXX)
    trap 'rm -rf "$capture"' EXIT
  fi
  # Sanitizer reports must fail the run; leak checking is on by default with ASan.
  ROLLBACK_E2E_CAPTURE="$capture" \
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    ctest --preset "$preset" -j 2 "$@"
  if [[ "$preset" == dev && $# -eq 0 ]]; then
    # The short reliability run (docs/RELIABILITY.md): fails on any broken safety promise.
    echo "== reliability (short)"
    ROLLBACK_BIN="$PWD/build/dev/rollback" "$PY" tests/reliability/reliability.py secrets --capture "$capture"
    ROLLBACK_BIN="$PWD/build/dev/rollback" "$PY" tests/reliability/reliability.py run --size short
  fi
done

# The release build, warnings as errors (the optimiser finds warnings the debug builds do not),
# packaged as a .deb and installed into a temporary root (tests/scripts/test_package.sh).
echo "== build (release, warnings are errors)"
cmake --preset release -DROLLBACK_WERROR=ON >/dev/null
cmake --build --preset release -j "$(jobs_for_build)"
echo "== package (release)"
tests/scripts/test_package.sh build/release

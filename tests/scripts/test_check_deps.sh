#!/usr/bin/env bash
# scripts/check-deps.sh must pass on the real install-deps.sh and fail, naming the package, on a
# copy with one package the build uses removed (libyaml-cpp-dev: its headers are in every build,
# and its runtime library libyaml-cpp0.7 is not implied by anything else).
# Usage: test_check_deps.sh BUILD_DIR BINARY
set -euo pipefail
build_dir=$1
binary=$2
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== the real install-deps.sh covers the build"
"$here/scripts/check-deps.sh" --build-dir "$build_dir" --binary "$binary" || fail "check-deps failed on the real install-deps.sh"

for removed in libyaml-cpp-dev libpugixml-dev; do
  echo "== a copy without $removed"
  sed "s/\b$removed\b//" "$here/scripts/install-deps.sh" > "$tmp/install-deps.sh"
  grep -qw -- "$removed" "$tmp/install-deps.sh" && fail "could not remove $removed from the copy"
  set +e
  out=$("$here/scripts/check-deps.sh" --build-dir "$build_dir" --binary "$binary" --install-deps "$tmp/install-deps.sh" 2>&1)
  rc=$?
  set -e
  echo "$out"
  [[ $rc -eq 1 ]] || fail "check-deps exited $rc without $removed, expected 1"
  grep -q "^  $removed (for /usr/" <<<"$out" || fail "check-deps did not name $removed"
done
echo "PASS"

#!/usr/bin/env bash
# Packages a build folder and checks what a user would install:
#   - `cmake --install --strip` installs a stripped binary, the completions and the man page;
#   - `cpack` makes a .deb whose Depends were computed (dpkg-shlibdeps) from the binary's libraries;
#   - the .deb, unpacked into a temporary root, holds a stripped binary that runs (`--version`),
#     the bash/zsh/fish completions and the man page.
# Usage: test_package.sh BUILD_DIR   (a configured and built folder, e.g. build/release)
set -euo pipefail
build=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

stripped() { ! readelf -S "$1" | grep -q -e '\.symtab' -e '\.debug_info'; }
check_tree() {  # ROOT: an installed /usr-like tree
  local root=$1
  [[ -x "$root/bin/rollback" ]] || fail "no bin/rollback under $root"
  stripped "$root/bin/rollback" || fail "$root/bin/rollback is not stripped"
  "$root/bin/rollback" --version | grep -Eq '^rollback [0-9]+\.[0-9]+\.[0-9]+ \(commit [^)]+\)$' ||
    fail "--version from $root: $("$root/bin/rollback" --version)"
  local f
  for f in share/bash-completion/completions/rollback share/zsh/vendor-completions/_rollback \
           share/fish/vendor_completions.d/rollback.fish share/man/man1/rollback.1; do
    [[ -s "$root/$f" ]] || fail "missing or empty: $f"
  done
  grep -q '^complete -F _rollback rollback$' "$root/share/bash-completion/completions/rollback" || fail "bash completion"
  grep -q '^#compdef rollback$' "$root/share/zsh/vendor-completions/_rollback" || fail "zsh completion"
  grep -q '^\.TH ROLLBACK 1' "$root/share/man/man1/rollback.1" || fail "man page"
  bash -n "$root/share/bash-completion/completions/rollback" || fail "bash completion does not parse"
}

echo "== cmake --install --strip"
cmake --install "$build" --prefix "$tmp/prefix" --strip >/dev/null
check_tree "$tmp/prefix"

echo "== cpack (DEB)"
(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
deb=$(ls "$tmp"/out/*.deb)
echo "$(basename "$deb")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libcurl4 libssl3 libyaml-cpp0.7 libpq5 libsqlite3-0 libpugixml1v5 libfmt9 libstdc++6; do
  [[ "$depends" == *"$lib"* ]] || fail "Depends lacks $lib (dpkg-shlibdeps should have found it)"
done
dpkg-deb -x "$deb" "$tmp/root"
check_tree "$tmp/root/usr"
echo "PASS"

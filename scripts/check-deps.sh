#!/usr/bin/env bash
# Fails when the build uses a Debian package that scripts/install-deps.sh does not install, so a
# missing install step (a fresh machine failing at cmake or at link time) cannot land unnoticed.
#
# What the build really uses is derived, not listed by hand:
#   - every system header in the build's dependency log (`ninja -t deps`: what the compiler read);
#   - every shared library the binary needs (readelf NEEDED, resolved to a path by ldd);
# each mapped to its package with `dpkg -S`. A package counts as installed by install-deps.sh when
# it is listed there, is a direct dependency of a listed package (a -dev package brings its runtime
# library), or comes with the compiler (build-essential: libc, libstdc++, libgcc, kernel headers).
#
# Usage: scripts/check-deps.sh [--build-dir DIR] [--binary FILE] [--install-deps FILE]
#   defaults: build/dev, <build-dir>/rollback, scripts/install-deps.sh
# Exit 0 when everything is covered, 1 naming each missing package, 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$PWD

build_dir=build/dev
binary=""
install_deps=scripts/install-deps.sh
while (($#)); do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --install-deps) install_deps=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "check-deps: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -n "$binary" ]] || binary=$build_dir/rollback
build_dir=$(realpath "$build_dir")
if [[ ! -f "$build_dir/build.ninja" ]]; then
  echo "check-deps: $build_dir is not a Ninja build folder; build first (cmake --preset dev && cmake --build --preset dev)" >&2
  exit 2
fi
if [[ ! -x "$binary" ]]; then
  echo "check-deps: no binary at $binary; build it first or pass --binary" >&2
  exit 2
fi
if [[ ! -f "$install_deps" ]]; then
  echo "check-deps: no install script at $install_deps" >&2
  exit 2
fi

# The packages install-deps.sh installs: the words of its PACKAGES=( ... ) array, comments removed.
mapfile -t listed < <(sed -n '/^PACKAGES=(/,/^)/p' "$install_deps" | sed -e 's/#.*//' -e 's/PACKAGES=(//' -e 's/)//' |
                      tr -s ' \t' '\n' | sed '/^$/d' | sort -u)
if ((${#listed[@]} == 0)); then
  echo "check-deps: found no PACKAGES=( ... ) array in $install_deps" >&2
  exit 2
fi

# Covered: the listed packages and their direct dependencies (Depends, Pre-Depends).
declare -A covered=()
for p in "${listed[@]}"; do covered[$p]=1; done
while read -r dep; do
  [[ -n "$dep" ]] && covered[$dep]=1
done < <(dpkg-query -W -f='${Depends}, ${Pre-Depends}\n' "${listed[@]}" 2>/dev/null |
         tr ',|' '\n\n' | sed -e 's/([^)]*)//g' -e 's/:any//g' -e 's/^ *//' -e 's/ *$//' | sort -u)

# What build-essential brings: the C and C++ toolchain and its libraries, including the
# sanitizer runtimes (libgcc-12-dev depends on libasan8, libubsan1, ...) the asan preset links.
is_implied() {
  [[ "$1" =~ ^(libc6|libc6-dev|libc-dev-bin|linux-libc-dev|libcrypt1|libcrypt-dev|libstdc\+\+6|libstdc\+\+-[0-9]+-dev|libgcc-s1|libgcc-[0-9]+-dev|gcc-[0-9]+|g\+\+-[0-9]+|cpp-[0-9]+|libgomp1|libatomic1|libitm1|libquadmath0|libasan[0-9]+|liblsan0|libtsan[0-9]+|libubsan1|libhwasan0)$ ]]
}

# The files the build used from outside the source and build trees, each path once.
files=$(
  {
    ninja -C "$build_dir" -t deps 2>/dev/null | sed -n 's/^    //p' | sort -u
    # Shared libraries: NEEDED entries of the binary, resolved to paths by the dynamic loader.
    needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    ldd "$binary" | awk -v needed=" $(echo $needed) " '$3 ~ /^\// && index(needed, " " $1 " ") { print $3 }'
  } | (cd "$build_dir" && xargs -r realpath -s -m --) | grep -v -e "^$source_dir/" -e "^$build_dir/" | sort -u
)

# Which package owns each file, asked in batches (one dpkg -S per file would take minutes).
# /lib and /usr/lib are one folder on Debian 12 (merged /usr), but dpkg records the path the
# package shipped, so a file not found under one spelling is asked again under the other.
declare -A owner=()
ask_dpkg() {  # paths on stdin; fills owner[path]=package for the ones dpkg knows
  local line pkgs path
  while IFS= read -r line; do
    pkgs=${line%%: /*}
    path=/${line#*: /}
    owner[$path]=$(echo "$pkgs" | sed -e 's/,.*//' -e 's/:.*//' -e 's/^ *//')
  done < <(xargs -r dpkg -S -- 2>/dev/null || true)
}
ask_dpkg <<<"$files"
declare -A alt_of=()
alts=""
while read -r f; do
  [[ -n "$f" && -z "${owner[$f]:-}" ]] || continue
  case "$f" in
    /usr/lib/*|/usr/lib64/*) alt=${f#/usr} ;;
    /lib/*|/lib64/*) alt=/usr$f ;;
    *) continue ;;
  esac
  alt_of[$alt]=$f
  alts+="$alt"$'\n'
done <<<"$files"
if [[ -n "$alts" ]]; then
  ask_dpkg <<<"$alts"
  for alt in "${!alt_of[@]}"; do
    [[ -n "${owner[$alt]:-}" ]] && owner[${alt_of[$alt]}]=${owner[$alt]}
  done
fi

declare -A missing=()
declare -A unowned=()
declare -A seen_pkg=()
total=0
while read -r f; do
  [[ -n "$f" ]] || continue
  total=$((total + 1))
  pkg=${owner[$f]:-}
  if [[ -z "$pkg" ]]; then
    unowned[$f]=1
    continue
  fi
  [[ -n "${seen_pkg[$pkg]:-}" ]] && continue
  seen_pkg[$pkg]=$f
  if [[ -z "${covered[$pkg]:-}" ]] && ! is_implied "$pkg"; then
    missing[$pkg]=$f
  fi
done <<<"$files"

status=0
if ((${#missing[@]})); then
  echo "check-deps: the build uses Debian packages that $install_deps does not install:" >&2
  for p in $(printf '%s\n' "${!missing[@]}" | sort); do
    echo "  $p (for ${missing[$p]})" >&2
  done
  echo "check-deps: add them to PACKAGES in scripts/install-deps.sh" >&2
  status=1
fi
if ((${#unowned[@]})); then
  echo "check-deps: the build uses files that no Debian package installed (the project builds from Debian 12 packages only):" >&2
  printf '  %s\n' $(printf '%s\n' "${!unowned[@]}" | sort) >&2
  status=1
fi
if ((status == 0)); then
  echo "check-deps: ok: $total system files from ${#seen_pkg[@]} packages, all installed by $install_deps"
fi
exit $status

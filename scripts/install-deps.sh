#!/usr/bin/env bash
# Installs everything rollback needs to build and test, from Debian 12 packages only.
# Idempotent: skips apt entirely when every package is already installed.
# Usage: scripts/install-deps.sh [--fuzz]   (--fuzz: also clang and libFuzzer, for scripts/fuzz.sh)
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libfmt-dev
  libsqlite3-dev libpq-dev libgtest-dev libgmock-dev libpugixml-dev
  # packaging: CPack's DEB generator computes Depends with dpkg-shlibdeps; check-deps reads ELF files
  dpkg-dev binutils
  # end-to-end: real PostgreSQL, real Alembic, SQLite
  postgresql postgresql-client sqlite3 alembic python3-alembic python3-psycopg2 python3-sqlalchemy
)
# scripts/fuzz.sh (figure R5, not part of CI): Debian's clang and its libFuzzer runtime, which
# clang only recommends (and --no-install-recommends leaves out).
FUZZ_PACKAGES=(clang libclang-rt-14-dev)
if [[ "${1:-}" == "--fuzz" ]]; then PACKAGES+=("${FUZZ_PACKAGES[@]}"); fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The sandbox needs a Python with moto (moto_server) and boto3; the machine image ships one.
source "$(dirname "$0")/lib.sh"
if ! find_moto_python >/dev/null; then
  echo "install-deps: no Python with moto and boto3 found (expected on the machine image: pyenv Python 3.11)" >&2
  exit 1
fi

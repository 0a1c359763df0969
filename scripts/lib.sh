# Shared helpers for the project's scripts (sourced, not run).

# Prints the path of a Python interpreter that has moto and boto3 (the machine image's
# pyenv Python); Debian's /usr/bin/python3 has Alembic but not moto.
find_moto_python() {
  local candidates=("${ROLLBACK_PYTHON:-}" python3 /root/.pyenv/versions/3.11.7/bin/python3)
  local c
  for c in "${candidates[@]}"; do
    [[ -n "$c" ]] || continue
    command -v "$c" >/dev/null 2>&1 || continue
    if "$c" -c 'import moto, boto3' >/dev/null 2>&1; then
      command -v "$c"
      return 0
    fi
  done
  for c in /root/.pyenv/versions/*/bin/python3; do
    if [[ -x "$c" ]] && "$c" -c 'import moto, boto3' >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

jobs_for_build() {
  nproc 2>/dev/null || echo 2
}

# Tests wait on the sandbox and on sleeps as much as they compute: one more job than cores keeps
# both busy. ROLLBACK_TEST_JOBS overrides.
jobs_for_tests() {
  echo "${ROLLBACK_TEST_JOBS:-$(( $(jobs_for_build) + 1 ))}"
}

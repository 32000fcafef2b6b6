#!/usr/bin/env bash
# Runs every test of Tactical Link. On a fresh Debian machine it first
# installs what the tests need (from Debian's packages: redis-server,
# redis-tools, redis-sentinel, haproxy, systemd's systemd-analyze, chromium
# and python3-venv; the npm packages of the web/ workspace (the dashboard,
# @tactical-link/client and /react) from web/package-lock.json; the Python
# tools from clients/python/requirements-test.txt); the tests start their
# own Redis servers, clusters and sentinels, HAProxy and gateways on free
# ports.
#
#   formatting and lints (cargo fmt --check, cargo clippy -D warnings)
#   Rust unit and integration tests (real redis-server, real WebSockets)
#   the Python library and its example service (ruff, mypy --strict, pytest
#   against a real redis-server and gateway, under the oldest and the newest
#   redis-py supported)
#   unit tests of the dashboard and of both npm packages (Vitest)
#   browser tests (Playwright driving Debian's chromium against the real
#   binary and a real redis-server), one of which packs both packages and
#   builds examples/react-app from the tarballs
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The oldest and the newest redis-py the Python library supports: its tests
# run under both.
REDIS_PY_VERSIONS=(5.0.8 8.1.0)

# A fresh virtual environment under target/, the tools pinned in
# clients/python/requirements-test.txt, the library installed as a user
# installs it (`pip install ./clients/python`), then lints and tests.
python_tests() {
  local venv=target/python/venv started=$SECONDS
  python3 -m venv --clear "$venv"
  local py="$PWD/$venv/bin/python"
  "$py" -m pip install -q --disable-pip-version-check \
    -r clients/python/requirements-test.txt "redis==${REDIS_PY_VERSIONS[-1]}"
  "$py" -m pip install -q --disable-pip-version-check ./clients/python
  cargo build --locked --bin tactical-link
  (
    cd clients/python
    export RUFF_CACHE_DIR="$OLDPWD/target/python/ruff-cache" MYPY_CACHE_DIR="$OLDPWD/target/python/mypy-cache"
    "$py" -m ruff check --config pyproject.toml . ../../examples/python-service
    "$py" -m ruff format --check --config pyproject.toml . ../../examples/python-service
    "$py" -m mypy src tests hatch_build.py ../../examples/python-service
    for version in "${REDIS_PY_VERSIONS[@]}"; do
      "$py" -m pip install -q --disable-pip-version-check "redis==$version"
      echo "pytest with redis-py $version"
      TACTICAL_LINK_BIN="$OLDPWD/target/debug/tactical-link" "$py" -m pytest -q -p no:cacheprovider
    done
  )
  echo "Python checks and tests: $((SECONDS - started)) s"
}

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || missing+=(haproxy)
command -v systemd-analyze >/dev/null || missing+=(systemd)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v openssl >/dev/null || missing+=(openssl)
command -v python3 >/dev/null || missing+=(python3)
# Debian keeps venv (and the ensurepip it needs) in a package of its own.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]} (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    step "installing the $component component"
    rustup component add "$component"
  fi
done

step "npm packages (the web/ workspace: web/package-lock.json)"
# Playwright drives Debian's chromium; it must never fetch a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd web && npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests"
cargo test --workspace --locked

step "Python: clients/python and examples/python-service"
python_tests

step "unit tests of the dashboard and the packages (Vitest)"
(cd web && npm test)

step "browser tests (Playwright + chromium; the example app from the packed packages)"
cargo build --locked --bin tactical-link
(cd web && TACTICAL_LINK_BIN="$PWD/../target/debug/tactical-link" npm run e2e)

step "all tests passed"

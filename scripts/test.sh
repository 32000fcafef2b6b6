#!/usr/bin/env bash
# Runs every test of Tactical Link. On a fresh Debian machine it first
# installs what the tests need (from Debian's packages: redis-server,
# redis-tools, redis-sentinel, haproxy, systemd's systemd-analyze and
# chromium; the dashboard's npm packages from web/package-lock.json); the
# tests start their own Redis servers, clusters and sentinels, HAProxy and
# gateways on free ports.
#
#   formatting and lints (cargo fmt --check, cargo clippy -D warnings)
#   Rust unit and integration tests (real redis-server, real WebSockets)
#   dashboard unit tests (Vitest)
#   browser tests (Playwright driving Debian's chromium against the real
#   binary and a real redis-server)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
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

step "npm packages (web/package-lock.json)"
# Playwright drives Debian's chromium; it must never fetch a browser.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
(cd web && npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt --check"
cargo fmt --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "Rust tests"
cargo test --workspace --locked

step "dashboard unit tests (Vitest)"
(cd web && npm test)

step "browser tests (Playwright + chromium)"
cargo build --locked --bin tactical-link
(cd web && TACTICAL_LINK_BIN="$PWD/../target/debug/tactical-link" npm run e2e)

step "all tests passed"

#!/usr/bin/env bash
# Runs the standard load cases against Tactical Link, the floor (a bare
# relay of the benchmark's own: tactical-link-bench floor) and the Python
# baseline of the original design, alternating, in one session, TRIALS times
# each, then writes the medians side by side, and the ratios to the floor,
# into docs/performance.md and the latency plot into docs/img/latency.svg.
#
#   bench/run.sh                 # 3 trials of the standard cases (~25 min)
#   TRIALS=1 EXTRAS=0 bench/run.sh   # a quick look
#   CASES="100x2000 idle-15000" DURATION=3 TRIALS=1 EXTRAS=0 bench/run.sh
#                                # some cases, 3 s of publishing each
#   SUMMARY=0 ...                # leave docs/ as it is (results only)
#
# Every run starts its own redis-server and server on free ports. Results
# (one JSON per run) stay in bench/results/<time>/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

TRIALS=${TRIALS:-3}
EXTRAS=${EXTRAS:-1}          # slow-consumer, idle-with-history, auth-on, HTTP-publish and SSE cases, once
CASES=${CASES:-"100x2000 1000x500 10000x5 idle-15000"}   # the standard cases to run
DURATION=${DURATION:-10}     # seconds of publishing per standard case
SUMMARY=${SUMMARY:-1}        # 0: do not rewrite docs/performance.md and the plot
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
export TACTICAL_LINK_SKIP_WEB_BUILD=1   # the gateway needs no dashboard to be measured

step() { printf '\n==> %s\n' "$*" >&2; }

command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }

step "building tactical-link and tactical-link-bench (release)"
cargo build --release -p tactical-link -p tactical-link-bench
BIN="$CARGO_TARGET_DIR/release/tactical-link"
BENCH=("$CARGO_TARGET_DIR/release/tactical-link-bench" --gateway-bin "$BIN")

if [ ! -x bench/.venv/bin/python ] || ! bench/.venv/bin/python -c 'import fastapi, uvicorn, redis' 2>/dev/null; then
  step "creating bench/.venv for the Python baseline"
  PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
  "$PYTHON" -m venv bench/.venv
  bench/.venv/bin/pip install --quiet --disable-pip-version-check -r bench/baselines/python/requirements.txt
fi

OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
START=$SECONDS

# The three servers in trial N's order, a Latin square: over three trials
# each runs first, second and third once, and which of Tactical Link and the
# floor goes first alternates.
order_for() {
  case $(( ($1 - 1) % 3 )) in
    0) echo tactical-link floor baseline ;;
    1) echo floor baseline tactical-link ;;
    2) echo baseline tactical-link floor ;;
  esac
}

# case name, then the flags of every server, then extra flags for the
# baseline (its drain is capped: at 1,000+ clients it falls minutes behind).
run_case() {
  local trial=$1 case=$2 flags=$3 baseline_flags=$4
  local order
  read -r -a order <<<"$(order_for "$trial")"
  for server in "${order[@]}"; do
    step "trial $trial · $case · $server"
    local spawn=(--spawn) extra=()
    if [ "$server" = floor ]; then spawn=(--spawn-floor); fi
    if [ "$server" = baseline ]; then spawn=(--spawn-baseline); read -r -a extra <<<"$baseline_flags"; fi
    # shellcheck disable=SC2086
    "${BENCH[@]}" --spawn-redis "${spawn[@]}" --case "$case" $flags "${extra[@]}" \
      --json "$OUT/$case-$server-$trial.json" \
      || echo "warning: $case on $server failed in trial $trial" >&2
  done
}

# The gateway's clients over Server-Sent Events, beside the floor over
# WebSocket (neither the floor nor the baseline serves SSE); which goes
# first alternates by trial.
run_sse() {
  local trial=$1 case=sse-1000x500
  local flags="--clients 1000 --rate 500 --duration $DURATION"
  local order=(tactical-link floor)
  if [ $(( trial % 2 )) = 0 ]; then order=(floor tactical-link); fi
  for server in "${order[@]}"; do
    step "trial $trial · $case · $server"
    local spawn=(--spawn --transport sse)
    if [ "$server" = floor ]; then spawn=(--spawn-floor); fi
    # shellcheck disable=SC2086
    "${BENCH[@]}" --spawn-redis "${spawn[@]}" --case "$case" $flags \
      --json "$OUT/$case-$server-$trial.json" \
      || echo "warning: $case on $server failed in trial $trial" >&2
  done
}

# A case for Tactical Link alone (the baseline has no such feature).
run_ours() {
  local case=$1 flags=$2
  step "$case · tactical-link"
  # shellcheck disable=SC2086
  "${BENCH[@]}" --spawn-redis --spawn --case "$case" $flags --json "$OUT/$case-tactical-link-1.json" \
    || echo "warning: $case failed" >&2
}

standard_case() {
  local trial=$1 case=$2
  case $case in
    100x2000)   run_case "$trial" 100x2000   "--clients 100 --rate 2000 --duration $DURATION"  "--drain-max 15" ;;
    1000x500)   run_case "$trial" 1000x500   "--clients 1000 --rate 500 --duration $DURATION"  "--drain-max 15" ;;
    10000x5)    run_case "$trial" 10000x5    "--clients 10000 --rate 5 --duration $DURATION"   "--drain-max 15" ;;
    idle-15000) run_case "$trial" idle-15000 "--clients 15000 --events 0"                      "" ;;
    sse-1000x500) run_sse "$trial" ;;
    *) echo "unknown case $case (CASES: 100x2000 1000x500 10000x5 idle-15000 sse-1000x500)" >&2; exit 64 ;;
  esac
}

for trial in $(seq 1 "$TRIALS"); do
  for case in $CASES; do standard_case "$trial" "$case"; done
done
if [ "$EXTRAS" = 1 ]; then
  # 100 of the 1,000 clients stop reading: the other 900 must not suffer.
  # 20 s of 1.4 KB events: more than a loopback socket's kernel buffers (4 MiB) hold.
  run_case 1 slow-1000x500 "--clients 1000 --slow-clients 100 --rate 500 --duration 20 --payload-bytes 1000" "--drain-max 15"
  # Idle connections again, after 1,000 events: snapshots carry history.
  run_case 1 idle-15000-history "--clients 15000 --events 0 --prefill 1000" ""
  # Authentication on: every client has a token of its own (Bearer header).
  run_ours auth-1000x500 "--clients 1000 --rate 500 --duration 10 --auth"
  # The same load read over Server-Sent Events (GET /dashboard/sse), beside
  # the floor (unless CASES ran it already).
  case " $CASES " in *" sse-1000x500 "*) ;; *) run_sse 1 ;; esac
  # Publishing over HTTP (POST /api/events) to a gateway on the in-process
  # bus: no Redis anywhere.
  step "http-1000x500 · tactical-link"
  "${BENCH[@]}" --spawn --publish http --case http-1000x500 --clients 1000 --rate 500 --duration 10 \
    --json "$OUT/http-1000x500-tactical-link-1.json" || echo "warning: http-1000x500 failed" >&2
fi

if [ "$SUMMARY" != 1 ]; then
  step "results in $OUT ($(( (SECONDS - START) / 60 )) min of runs); docs/ left as it is (SUMMARY=0)"
  "${BENCH[0]}" summarize "$OUT"
  exit 0
fi
COMMIT=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
DIRTY=$(git diff --quiet -- src bench/src Cargo.toml 2>/dev/null || echo " plus uncommitted changes")
step "summarising $OUT ($(( (SECONDS - START) / 60 )) min of runs)"
"${BENCH[0]}" summarize "$OUT" --markdown docs/performance.md --svg docs/img/latency.svg \
  --context "Gateway built from commit \`$COMMIT\`$DIRTY (release, no dashboard); $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; results in \`$OUT\`."

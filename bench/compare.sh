#!/usr/bin/env bash
# Runs the standard load cases against two builds of the gateway, in one
# session, alternating (trial 1 before then after, trial 2 after then
# before, …), TRIALS times each, with one benchmark client driving both
# (`--gateway-bin`), then sets the two side by side with
# `tactical-link-bench summarize --compare`: what a change did, measured.
#
#   bench/compare.sh OLD/tactical-link NEW/tactical-link   # 3 trials (~12 min)
#   CASES="1000x500" TRIALS=5 SCRAPE=0 bench/compare.sh A B
#   MARKDOWN=docs/performance.md CONTEXT="Before: …" bench/compare.sh A B
#                                # splice the comparison into the page
#   EXTRA="--event-kind generic" bench/compare.sh A B   # flags for every run
#
# Besides the standard cases, 1000x500-scraped (SCRAPE=1) is 1000x500 with
# /metrics scraped every second, as Prometheus would, for both builds.
# Every run starts its own redis-server and gateway on free ports. Results
# (one JSON per run) stay in bench/results/compare-<time>/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# = 2 ] || { echo "usage: $0 BEFORE_BIN AFTER_BIN" >&2; exit 64; }
declare -A BIN=([before]=$1 [after]=$2)
for build in before after; do
  [ -x "${BIN[$build]}" ] || { echo "${BIN[$build]} is not an executable" >&2; exit 66; }
done
TRIALS=${TRIALS:-3}
CASES=${CASES:-"100x2000 1000x500 10000x5 idle-15000"}
DURATION=${DURATION:-10}     # seconds of publishing per case
SCRAPE=${SCRAPE:-1}          # 1: also 1000x500 with /metrics scraped every second
MARKDOWN=${MARKDOWN:-}       # a page to splice the comparison into
CONTEXT=${CONTEXT:-}         # a sentence on the two builds, under the date
EXTRA=${EXTRA:-}             # more flags for every run, e.g. "--event-kind generic"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/bench-target}
export TACTICAL_LINK_SKIP_WEB_BUILD=1

step() { printf '\n==> %s\n' "$*" >&2; }

command -v redis-server >/dev/null || { echo "redis-server is needed (apt-get install redis-server)" >&2; exit 1; }
step "building tactical-link-bench (release)"
cargo build --release -p tactical-link-bench
BENCH="$CARGO_TARGET_DIR/release/tactical-link-bench"

OUT=bench/results/compare-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
START=$SECONDS

flags_for() {
  case $1 in
    100x2000)          echo "--clients 100 --rate 2000 --duration $DURATION" ;;
    1000x500)          echo "--clients 1000 --rate 500 --duration $DURATION" ;;
    1000x500-scraped)  echo "--clients 1000 --rate 500 --duration $DURATION --scrape-metrics 1" ;;
    10000x5)           echo "--clients 10000 --rate 5 --duration $DURATION" ;;
    idle-15000)        echo "--clients 15000 --events 0" ;;
    *) echo "unknown case $1 (CASES: 100x2000 1000x500 10000x5 idle-15000)" >&2; exit 64 ;;
  esac
}

run_case() {
  local trial=$1 case=$2 order flags
  order=(before after)
  if (( trial % 2 == 0 )); then order=(after before); fi
  flags=$(flags_for "$case")
  for build in "${order[@]}"; do
    step "trial $trial · $case · $build (load $(cut -d' ' -f1-3 /proc/loadavg))"
    # shellcheck disable=SC2086
    "$BENCH" --spawn --gateway-bin "${BIN[$build]}" --spawn-redis --case "$case" --label "$build" \
      $flags $EXTRA --json "$OUT/$case-$build-$trial.json" \
      || echo "warning: $case on $build failed in trial $trial" >&2
  done
}

cases=$CASES
if [ "$SCRAPE" = 1 ]; then cases="$cases 1000x500-scraped"; fi
for case in $cases; do flags_for "$case" >/dev/null; done   # unknown cases fail now, not later
for trial in $(seq 1 "$TRIALS"); do
  for case in $cases; do run_case "$trial" "$case"; done
done

step "summarising $OUT ($(( (SECONDS - START) / 60 )) min of runs)"
summarize=("$BENCH" summarize "$OUT" --compare before,after --context "$CONTEXT")
if [ -n "$MARKDOWN" ]; then summarize+=(--markdown "$MARKDOWN"); fi
"${summarize[@]}"

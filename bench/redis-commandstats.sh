#!/usr/bin/env bash
# Where Redis's time per event goes with N gateways: a fresh redis-server on
# a free loopback port, N gateways on it (`serve --stream-read-pause-ms
# PAUSE`), 4 s for their start-up, then 5,000 plain PUBLISH pipeline events
# (50 runs) at 1,000/s; prints Redis's CPU per event (INFO cpu, user + sys)
# and the top commands of INFO commandstats per event (calls and usec).
# Complements `tactical-link-bench redis-cost` (medians over trials): this
# one shows which command the time is in.
# Usage: redis-commandstats.sh N PAUSE_MS [path/to/tactical-link]
set -euo pipefail
N=$1; PAUSE=$2; BIN=${3:-target/release/tactical-link}
P=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
redis-server --port "$P" --bind 127.0.0.1 --save "" --appendonly no >/dev/null & pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
until redis-cli -p "$P" ping >/dev/null 2>&1; do sleep 0.1; done
for _ in $(seq 1 "$N"); do
  "$BIN" serve --redis "redis://127.0.0.1:$P" --listen 127.0.0.1:0 \
    --stream-read-pause-ms "$PAUSE" >/dev/null 2>&1 & pids+=($!)
done
sleep 4
cpu() { redis-cli -p "$P" info cpu | awk -F: '/^used_cpu_(user|sys):/{t+=$2} END{print t}'; }
redis-cli -p "$P" config resetstat >/dev/null
before=$(cpu)
python3 - "$P" <<'PY'
import socket, sys, time
sock = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def resp(*args):
    out = b"*%d\r\n" % len(args)
    for arg in args:
        out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out
start = time.monotonic()
for n in range(5000):
    event = (b'{"type":"pipeline.stage","run_id":"r%d","stage":"radar",'
             b'"status":"processing","detail":"%s"}' % (n % 50, b"x" * 90))
    sock.sendall(resp(b"PUBLISH", b"system_events", event))
    sock.recv(100)
    pause = start + (n + 1) / 1000 - time.monotonic()
    if pause > 0:
        time.sleep(pause)
PY
sleep 2
after=$(cpu)
echo "gateways=$N pause=${PAUSE}ms redis_cpu_us_per_event=$(python3 -c "print(round(($after - $before) / 5000 * 1e6, 1))")"
redis-cli -p "$P" info commandstats | tr -d '\r' |
  awk -F'[:,=]' '/^cmdstat/{printf "%-24s calls/event %5.2f  usec/event %6.1f\n", $1, $3/5000, $5/5000}' |
  sort -k5 -rn | head -8

#!/usr/bin/env bash
# Classic PUBLISH vs sharded SPUBLISH in a 3-master, 3-replica Redis
# Cluster on loopback: Redis CPU (INFO cpu, user+sys) summed over all six
# nodes, per message, with one subscriber on the channel's slot master.
# Usage: pubsub-cost.sh [messages] [trials]
set -euo pipefail
N=${1:-100000}; TRIALS=${2:-3}
dir=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket
while True:
    a=socket.socket(); a.bind(("127.0.0.1",0)); p=a.getsockname()[1]
    if p+10000<65536:
        b=socket.socket()
        try:
            b.bind(("127.0.0.1",p+10000)); print(p); break
        except OSError: pass
        finally: b.close()
    a.close()'; }
ports=()
for i in 1 2 3 4 5 6; do
  p=$(free_port); ports+=("$p"); mkdir -p "$dir/$p"
  redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir/$p" \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 1000 \
    --logfile "$dir/$p/log" & pids+=($!)
done
for p in "${ports[@]}"; do until redis-cli -p "$p" ping >/dev/null 2>&1; do sleep 0.1; done; done
redis-cli --cluster create $(for p in "${ports[@]}"; do echo "127.0.0.1:$p"; done) \
  --cluster-replicas 1 --cluster-yes >/dev/null
for p in "${ports[@]}"; do
  until redis-cli -p "$p" cluster info | grep -q cluster_state:ok; do sleep 0.2; done
done
sleep 2
cpu() { # total used_cpu_user+sys over all nodes, seconds
  local t=0; for p in "${ports[@]}"; do
    t=$(redis-cli -p "$p" info cpu | awk -F: -v t="$t" '/^used_cpu_(user|sys):/{t+=$2} END{print t}')
  done; echo "$t"; }
ch='system_events'; key="tactical-link:{$ch}:events"
slot=$(redis-cli -p "${ports[0]}" cluster keyslot "$key")
owner=$(redis-cli -c -p "${ports[0]}" cluster nodes | awk -v s="$slot" '$3 ~ /master/ {for(i=9;i<=NF;i++){split($i,r,"-"); if(r[2]=="")r[2]=r[1]; if(s>=r[1]&&s<=r[2]){split($2,a,"[:@]"); print a[2]}}}')
other=$(for p in "${ports[@]}"; do [ "$p" != "$owner" ] && echo "$p" && break; done)
redis-cli -p "$owner" subscribe "$ch" >/dev/null & pids+=($!)
redis-cli -p "$owner" ssubscribe "{$ch}" >/dev/null & pids+=($!)
sleep 1
measure() { # $1 port, rest: command
  local port=$1; shift
  local before after; before=$(cpu)
  redis-benchmark -p "$port" -n "$N" -c 4 -P 16 -q "$@" >/dev/null
  after=$(cpu)
  python3 -c "print(f'{($after-$before)/$N*1e6:.2f}')"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "trial classic-from-owner classic-from-other sharded-on-owner (µs Redis CPU per message, all 6 nodes)"
for t in $(seq "$TRIALS"); do
  a=$(measure "$owner" PUBLISH "$ch" x)
  b=$(measure "$other" PUBLISH "$ch" x)
  c=$(measure "$owner" SPUBLISH "{$ch}" x)
  echo "$t $a $b $c"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"

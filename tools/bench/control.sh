#!/usr/bin/env bash
# control.sh - control-plane figures under connection load, side by side in one run inside a
# private network namespace: the same open-loop TCP load (a) with no changes and (b) with
# 100 weight changes per second; reports failed connections, latency and the control round
# trip (p50/p99/max) of the changes.
# Usage: sudo bash tools/bench/control.sh [BUILD_DIR] [SECONDS] [CONN_RATE]
set -euo pipefail
B=$(realpath "${1:-build}")
SECS=${2:-10}
RATE=${3:-8000}

if [ -z "${RPD_BENCH_NETNS:-}" ]; then
	exec unshare -n env RPD_BENCH_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
tmp=$(mktemp -d)
trap 'kill -TERM $daemon 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$B/reuseportd" --workers 4 --user root --control "$tmp/ctl.sock" --log-level warn \
	--listen tcp://127.0.0.1:8080 2>"$tmp/daemon.log" &
daemon=$!
for _ in $(seq 1 100); do [ -S "$tmp/ctl.sock" ] && "$B/rpd-loadgen" --tcp 127.0.0.1:8080 --count 1 --quiet >/dev/null 2>&1 && break; sleep 0.1; done

summ() { python3 -c 'import json,sys; d=json.load(sys.stdin); l=d["latency_us"]; print("requests %d ok %d failed %d conn_per_s %.0f latency_us p50 %d p99 %d max %d" % (d["requests"], d["ok"], d["requests"]-d["ok"], d["rate_per_s"], l["p50"], l["p99"], l["max"]))'; }

echo "== open-loop TCP load at $RATE conn/s for ${SECS}s, 4 workers"
echo "-- (a) no changes"
"$B/rpd-loadgen" --tcp 127.0.0.1:8080 --rate "$RATE" --count 0 --duration "$SECS" --json --quiet | summ || true
echo "-- (b) 100 weight changes/s (slot 0 alternating 2 and 1) during the same load"
"$B/rpd-loadgen" --tcp 127.0.0.1:8080 --rate "$RATE" --count 0 --duration "$SECS" --json --quiet >"$tmp/load.json" &
lg=$!
sleep 0.2
"$B/rpd-bench-ctl" --control "$tmp/ctl.sock" --rate 100 --duration "$((SECS - 1))" --slot 0 --weights 2,1
wait $lg || true
summ <"$tmp/load.json"

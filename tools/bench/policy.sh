#!/usr/bin/env bash
# policy.sh - steering-policy figures, side by side in one run, each case in a fresh network
# namespace:
#   1. UDP flows remapped when one of 4 slots leaves: reuseportd (drain 3) vs the kernel's own
#      hash (a plain SO_REUSEPORT group losing one socket);
#   2. one of 4 workers SIGSTOPped for 5 s under 1000 conn/s: avoidance on, off, and plain;
#   3. ns per decision for hash, src and cpu from the kernel's BPF run-time stats;
#   4. what CPU locality buys: pinned workers, policy switched live between hash and cpu in
#      alternating paired rounds (connections/s and p99).
# Usage: sudo bash tools/bench/policy.sh [BUILD_DIR]
set -euo pipefail
B=$(realpath "${1:-build}")

if [ -z "${RPD_POLICY_CASE:-}" ]; then
	for c in remap-rpd remap-kernel stall-on stall-off stall-kernel ns-hash ns-src ns-cpu locality; do
		RPD_POLICY_CASE=$c unshare -n bash "$0" "$@"
	done
	exit 0
fi

ip link set lo up
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -TERM $p 2>/dev/null || true; done; wait 2>/dev/null; sysctl -qw kernel.bpf_stats_enabled=0; rm -rf "$tmp"' EXIT
case_=$RPD_POLICY_CASE

daemon() {
	"$B/reuseportd" --workers 4 --user root --control "$tmp/ctl.sock" --log-level warn "$@" 2>"$tmp/daemon.log" &
	pids+=($!)
	for _ in $(seq 1 100); do [ -S "$tmp/ctl.sock" ] && break; sleep 0.05; done
	sleep 0.5
}
plain() {
	"$B/rpd-bench-plain" --workers 4 "$@" -- "$B/rpd-demo-worker" >/dev/null 2>&1 &
	pids+=($!)
	sleep 0.5
}
slot_pid() { # the plain launcher's worker for slot $1
	for p in $(pgrep -P "${pids[0]}"); do
		tr '\0' '\n' </proc/$p/environ | grep -qx "REUSEPORTD_SLOT=$1" && echo $p
	done
}
flowmap() {
	"$B/rpd-loadgen" --udp 127.0.0.1:8080 --flows 2000 --count 2000 --source-port 20000 \
		--concurrency 64 --flow-map "$1" --quiet >/dev/null
}
remap_report() {
	python3 - "$1" "$tmp/a.map" "$tmp/b.map" <<'PY'
import sys
label, a, b = sys.argv[1:4]
A = dict(l.split() for l in open(a)); B = dict(l.split() for l in open(b))
left = [f for f in A if A[f] == "3"]; others = [f for f in A if A[f] != "3"]
moved_others = sum(1 for f in others if A[f] != B[f])
moved = sum(1 for f in A if A[f] != B[f])
print(f"{label}: flows 2000, on the leaving slot {len(left)}, others moved {moved_others}/{len(others)} ({100*moved_others/len(others):.1f}%), all moved {moved} ({100*moved/2000:.1f}%)")
PY
}
stall_run() {
	"$B/rpd-loadgen" --tcp 127.0.0.1:8080 --rate 1000 --count 0 --duration 8 --timeout 2000 --json --quiet >"$tmp/stall.json" &
	local lg=$!
	sleep 1
	kill -STOP "$1"; sleep 5; kill -CONT "$1"
	wait $lg || true
	python3 - "$2" "$tmp/stall.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[2])); l = d["latency_us"]
f = d["requests"] - d["ok"]
print(f"{sys.argv[1]}: {d['requests']} connections, failed {f} ({100*f/d['requests']:.2f}%: timeout {d['timeout']}, reset {d['reset']}), p99 {l['p99']/1000:.1f} ms, max {l['max']/1000:.1f} ms")
PY
}
ns_run() {
	sysctl -qw kernel.bpf_stats_enabled=1
	stats() { bpftool prog show 2>/dev/null | awk '/ name rpd_select /{t=0;c=0; for(i=1;i<=NF;i++){if($i=="run_time_ns")t=$(i+1); if($i=="run_cnt")c=$(i+1)}; T+=t; C+=c} END{print T+0, C+0}'; }
	read -r t0 c0 < <(stats)
	"$B/rpd-loadgen" --tcp 127.0.0.1:8080 --count 0 --duration 3 --concurrency 32 --quiet >/dev/null || true
	read -r t1 c1 < <(stats)
	"$B/rpd-loadgen" --udp 127.0.0.1:8080 --count 0 --duration 3 --concurrency 32 --flows 256 --quiet >/dev/null || true
	read -r t2 c2 < <(stats)
	awk -v l="$1" -v a="$t0" -v b="$c0" -v c="$t1" -v d="$c1" -v e="$t2" -v f="$c2" \
		'BEGIN{printf "%s: TCP %d decisions %.1f ns each; UDP %d decisions %.1f ns each\n", l, d-b, (c-a)/(d-b), f-d, (e-c)/(f-d)}'
}

case $case_ in
remap-rpd)
	daemon --listen udp://127.0.0.1:8080
	flowmap "$tmp/a.map"
	"$B/reuseportctl" --control "$tmp/ctl.sock" drain 3 >/dev/null
	flowmap "$tmp/b.map"
	remap_report "reuseportd hash, drain slot 3"
	;;
remap-kernel)
	plain --listen udp://127.0.0.1:8080
	flowmap "$tmp/a.map"
	kill -KILL "$(slot_pid 3)"
	sleep 0.3
	flowmap "$tmp/b.map"
	remap_report "kernel hash, slot 3's socket closed"
	;;
stall-on)
	daemon --listen tcp://127.0.0.1:8080
	stall_run "$(pgrep -P "${pids[0]}" | sed -n 2p)" "reuseportd, avoidance on"
	;;
stall-off)
	daemon --no-avoid-stall --listen tcp://127.0.0.1:8080
	stall_run "$(pgrep -P "${pids[0]}" | sed -n 2p)" "reuseportd, avoidance off"
	;;
stall-kernel)
	plain --listen tcp://127.0.0.1:8080
	stall_run "$(slot_pid 1)" "plain SO_REUSEPORT (kernel hash)"
	;;
ns-hash | ns-src | ns-cpu)
	pol=${case_#ns-}
	extra=()
	[ "$pol" = cpu ] && extra=(--pin-workers)
	daemon --policy "$pol" "${extra[@]}" --listen tcp://127.0.0.1:8080 --listen udp://127.0.0.1:8080
	ns_run "policy $pol"
	;;
locality)
	daemon --pin-workers --listen tcp://127.0.0.1:8080
	for r in 1 2 3 4 5 6; do
		for pol in hash cpu; do
			[ $((r % 2)) -eq 0 ] && pol=$([ $pol = hash ] && echo cpu || echo hash)
			"$B/reuseportctl" --control "$tmp/ctl.sock" policy $pol >/dev/null
			"$B/rpd-loadgen" --tcp 127.0.0.1:8080 --count 0 --duration 3 --concurrency 32 --json --quiet >"$tmp/$pol.$r.json" || true
		done
	done
	python3 - "$tmp" <<'PY'
import json, sys, statistics
d = sys.argv[1]
rows = {p: [json.load(open(f"{d}/{p}.{r}.json")) for r in range(1, 7)] for p in ("hash", "cpu")}
ratios = [c["rate_per_s"] / h["rate_per_s"] for h, c in zip(rows["hash"], rows["cpu"])]
for p in ("hash", "cpu"):
    print(f"locality, pinned workers, policy {p}: median {statistics.median(x['rate_per_s'] for x in rows[p]):.0f} conn/s, median p99 {statistics.median(x['latency_us']['p99'] for x in rows[p])/1000:.2f} ms")
print(f"locality: median per-round ratio cpu/hash {statistics.median(ratios):.3f} (range {min(ratios):.3f} - {max(ratios):.3f})")
PY
	;;
esac

#!/usr/bin/env bash
# steer.sh - the foundation's figures, measured side by side in one run inside a private
# network namespace:
#   1. TCP connections/s and latency through reuseportd vs the same demo workers on a plain
#      SO_REUSEPORT group (rpd-bench-plain, no program), in alternating rounds;
#   2. ns per steering decision from the kernel's BPF run-time stats, TCP and UDP;
#   3. the daemon's RSS with 4 and 256 workers.
# Usage: sudo bash tools/bench/steer.sh [BUILD_DIR] [ROUNDS] [SECONDS_PER_ROUND]
set -euo pipefail
B=$(realpath "${1:-build}")
ROUNDS=${2:-5}
SECS=${3:-5}
CONC=${CONC:-32}
WORKERS=${WORKERS:-2}

if [ -z "${RPD_BENCH_NETNS:-}" ]; then
	exec unshare -n env RPD_BENCH_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	sysctl -qw kernel.bpf_stats_enabled=0 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

field() { grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }
p99() { grep -o '"p99":[0-9]*' | head -1 | cut -d: -f2; }
wait_http() {
	for _ in $(seq 1 200); do
		"$B/rpd-loadgen" --tcp "127.0.0.1:$1" --count 1 --timeout 200 --quiet >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	echo "steer.sh: nothing answers on port $1" >&2
	return 1
}

sysctl -qw kernel.bpf_stats_enabled=0
"$B/rpd-bench-plain" --workers "$WORKERS" --listen tcp://127.0.0.1:8081 --listen udp://127.0.0.1:8081 \
	-- "$B/rpd-demo-worker" 2>/dev/null &
pids+=($!)
"$B/reuseportd" --workers "$WORKERS" --user root --control "$tmp/ctl.sock" --log-level warn \
	--listen tcp://127.0.0.1:8082 --listen udp://127.0.0.1:8082 2>"$tmp/daemon.log" &
pids+=($!)
daemon=$!
wait_http 8081
wait_http 8082

echo "== 1. TCP connections/s, closed loop, concurrency $CONC, $WORKERS workers, $ROUNDS x ${SECS}s rounds each, alternating"
printf '%-6s %-12s %12s %10s %10s\n' round server conn_per_s p99_us failed
plain_rates=()
rpd_rates=()
for r in $(seq 1 "$ROUNDS"); do
	for which in plain reuseportd; do
		port=8081
		[ "$which" = reuseportd ] && port=8082
		out=$("$B/rpd-loadgen" --tcp "127.0.0.1:$port" --count 0 --duration "$SECS" \
			--concurrency "$CONC" --json --quiet || true)
		rate=$(echo "$out" | field rate_per_s)
		ok=$(echo "$out" | field ok)
		req=$(echo "$out" | field requests)
		printf '%-6s %-12s %12s %10s %10s\n' "$r" "$which" "$rate" "$(echo "$out" | p99)" $((req - ok))
		if [ "$which" = plain ]; then plain_rates+=("$rate"); else rpd_rates+=("$rate"); fi
	done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mp=$(median "${plain_rates[@]}")
mr=$(median "${rpd_rates[@]}")
echo "median conn/s: plain $mp, reuseportd $mr, ratio reuseportd/plain $(awk -v a="$mr" -v b="$mp" 'BEGIN{printf "%.3f", a/b}')"

echo "== 2. ns per steering decision (kernel.bpf_stats_enabled=1)"
sysctl -qw kernel.bpf_stats_enabled=1
prog_stats() { bpftool prog show 2>/dev/null | awk '/ name rpd_select /{id=$1; sub(":","",id); for(i=1;i<=NF;i++){if($i=="run_time_ns")t=$(i+1); if($i=="run_cnt")c=$(i+1)}; print id, t+0, c+0}'; }
before=$(prog_stats)
"$B/rpd-loadgen" --tcp 127.0.0.1:8082 --count 0 --duration "$SECS" --concurrency "$CONC" --quiet >/dev/null || true
mid=$(prog_stats)
"$B/rpd-loadgen" --udp 127.0.0.1:8082 --count 0 --duration "$SECS" --concurrency "$CONC" --flows 256 --quiet >/dev/null || true
after=$(prog_stats)
sysctl -qw kernel.bpf_stats_enabled=0
report() {
	# $1 label, $2 stats before, $3 stats after: the program whose run_cnt grew
	join <(echo "$2" | sort) <(echo "$3" | sort) | awk -v l="$1" '{dt=$4-$2; dc=$5-$3; if (dc>0) printf "%s: %d decisions, %.1f ns per decision\n", l, dc, dt/dc}'
}
report TCP "$before" "$mid"
report UDP "$mid" "$after"

echo "== 3. daemon RSS"
kill -TERM "$daemon"; wait "$daemon" || true
for n in 4 256; do
	"$B/reuseportd" --workers "$n" --user root --control "$tmp/ctl$n.sock" --log-level info \
		--listen tcp://127.0.0.1:8083 --listen udp://127.0.0.1:8083 2>"$tmp/rss$n.log" &
	p=$!
	for _ in $(seq 1 600); do grep -q "$n of $n slots usable" "$tmp/rss$n.log" && break; sleep 0.1; done
	"$B/rpd-loadgen" --tcp 127.0.0.1:8083 --count 2000 --concurrency 16 --quiet >/dev/null || true
	echo "workers $n: daemon VmRSS $(awk '/VmRSS/{print $2, $3}' /proc/$p/status), VmHWM $(awk '/VmHWM/{print $2, $3}' /proc/$p/status)"
	kill -TERM "$p"; wait "$p" || true
done

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
ROUNDS=${2:-10}
SECS=${3:-3}
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

echo "== 1. TCP connections/s, closed loop, concurrency $CONC, $WORKERS workers, $ROUNDS paired rounds of ${SECS}s"
echo "   (each round runs both servers back to back, in alternating order; the ratio is taken per round)"
printf '%-6s %14s %14s %8s %12s %12s %8s\n' round plain_conn/s rpd_conn/s ratio plain_p99_us rpd_p99_us failed
plain_rates=()
rpd_rates=()
ratios=()
run_load() {
	"$B/rpd-loadgen" --tcp "127.0.0.1:$1" --count 0 --duration "$SECS" --concurrency "$CONC" \
		--json --quiet || true
}
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) -eq 1 ]; then
		po=$(run_load 8081)
		ro=$(run_load 8082)
	else
		ro=$(run_load 8082)
		po=$(run_load 8081)
	fi
	pr=$(echo "$po" | field rate_per_s)
	rr=$(echo "$ro" | field rate_per_s)
	failed=$(($(echo "$po" | field requests) - $(echo "$po" | field ok) + $(echo "$ro" | field requests) - $(echo "$ro" | field ok)))
	ratio=$(awk -v a="$rr" -v b="$pr" 'BEGIN{printf "%.3f", a/b}')
	printf '%-6s %14s %14s %8s %12s %12s %8s\n' "$r" "$pr" "$rr" "$ratio" "$(echo "$po" | p99)" "$(echo "$ro" | p99)" "$failed"
	plain_rates+=("$pr")
	rpd_rates+=("$rr")
	ratios+=("$ratio")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "median conn/s: plain $(median "${plain_rates[@]}"), reuseportd $(median "${rpd_rates[@]}")"
echo "median of per-round ratios reuseportd/plain: $(median "${ratios[@]}") (min $(printf '%s\n' "${ratios[@]}" | sort -g | head -1), max $(printf '%s\n' "${ratios[@]}" | sort -g | tail -1))"

echo "== 2. ns per steering decision (kernel.bpf_stats_enabled=1)"
sysctl -qw kernel.bpf_stats_enabled=1
prog_stats() { bpftool prog show 2>/dev/null | awk '/ name rpd_select /{id=$1; sub(":","",id); t=0; c=0; for(i=1;i<=NF;i++){if($i=="run_time_ns")t=$(i+1); if($i=="run_cnt")c=$(i+1)}; print id, t+0, c+0}'; }
before=$(prog_stats)
"$B/rpd-loadgen" --tcp 127.0.0.1:8082 --count 0 --duration "$SECS" --concurrency "$CONC" --quiet >/dev/null || true
mid=$(prog_stats)
"$B/rpd-loadgen" --udp 127.0.0.1:8082 --count 0 --duration "$SECS" --concurrency "$CONC" --flows 256 --quiet >/dev/null || true
after=$(prog_stats)
sysctl -qw kernel.bpf_stats_enabled=0
report() {
	# $1 label, $2 stats before, $3 stats after: the program whose run_cnt grew
	join <(echo "$2" | sort -u) <(echo "$3" | sort -u) | awk -v l="$1" '{dt=$4-$2; dc=$5-$3; if (dc>0) printf "%s: %d decisions, %.1f ns per decision\n", l, dc, dt/dc}'
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

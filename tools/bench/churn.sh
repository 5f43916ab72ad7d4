#!/usr/bin/env bash
# churn.sh - worker restarts under load, three ways, each in a fresh network namespace with the
# same load and the same restart cadence:
#   plain          plain SO_REUSEPORT servers; a restart closes the worker's listeners and
#                  opens new ones (rpd-bench-plain --restart-every)
#   plain+migrate  the same with net.ipv4.tcp_migrate_req=1 (the kernel migrates a closing
#                  listener's queue at random, without a program)
#   reuseportd     `restart SLOT` round robin over the control socket
# Load: open-loop TCP connections (connect, GET, read, close) and UDP request/response over
# 256 flows. Reports failed connections (per million and per restart), lost datagrams,
# latency and the kernel's counters (nstat deltas).
# Every mode runs twice: with workers that take in what is queued before closing their
# listeners on SIGTERM (rpd-demo-worker), and with workers that close them at once
# (rpd-demo-worker --stop-abrupt), as many servers do.
# Usage: sudo bash tools/bench/churn.sh [BUILD_DIR] [SECONDS] [TCP_RATE] [UDP_RATE] [RESTART_MS]
set -euo pipefail
B=$(realpath "${1:-build}")
SECS=${2:-20}
TCP_RATE=${3:-10000}
UDP_RATE=${4:-4000}
RESTART_MS=${5:-500}
WORKERS=4
COUNTERS="TcpExtTCPMigrateReqSuccess TcpExtTCPMigrateReqFailure TcpExtListenDrops TcpExtListenOverflows UdpRcvbufErrors UdpInErrors TcpAttemptFails TcpOutRsts"

if [ -n "${RPD_CHURN_MODE:-}" ]; then
	mode=$RPD_CHURN_MODE
	ip link set lo up
	tmp=$(mktemp -d)
	if [ "$mode" = plain+migrate ]; then sysctl -qw net.ipv4.tcp_migrate_req=1; else sysctl -qw net.ipv4.tcp_migrate_req=0; fi
	snap() { nstat -az 2>/dev/null | awk -v want="$COUNTERS" 'BEGIN{n=split(want,w," "); for(i=1;i<=n;i++) k[w[i]]=1} ($1 in k){print $1, $2}' | sort; }
	case $mode in
	plain*)
		"$B/rpd-bench-plain" --workers $WORKERS --restart-every "$RESTART_MS" \
			--listen tcp://127.0.0.1:8080 --listen udp://127.0.0.1:8080 \
			-- "$B/rpd-demo-worker" $RPD_CHURN_WORKER_ARGS >"$tmp/server.out" 2>/dev/null &
		server=$!
		;;
	reuseportd)
		"$B/reuseportd" --workers $WORKERS --user root --control "$tmp/ctl.sock" --log-level warn \
			--listen tcp://127.0.0.1:8080 --listen udp://127.0.0.1:8080 \
			-- "$B/rpd-demo-worker" $RPD_CHURN_WORKER_ARGS 2>"$tmp/daemon.log" &
		server=$!
		;;
	esac
	for _ in $(seq 1 100); do "$B/rpd-loadgen" --tcp 127.0.0.1:8080 --count 1 --quiet >/dev/null 2>&1 && break; sleep 0.1; done
	before=$(snap)
	"$B/rpd-loadgen" --tcp 127.0.0.1:8080 --rate "$TCP_RATE" --count 0 --duration "$SECS" --timeout 2000 --json --quiet >"$tmp/tcp.json" &
	lt=$!
	"$B/rpd-loadgen" --udp 127.0.0.1:8080 --rate "$UDP_RATE" --count 0 --duration "$SECS" --flows 256 --timeout 2000 --json --quiet >"$tmp/udp.json" &
	lu=$!
	if [ "$mode" = reuseportd ]; then
		"$B/rpd-bench-ctl" --control "$tmp/ctl.sock" --restart-slots $WORKERS \
			--rate "$(awk -v ms="$RESTART_MS" 'BEGIN{print 1000/ms}')" --duration "$SECS" >"$tmp/server.out" || true
	fi
	wait $lt $lu || true
	after=$(snap)
	kill -TERM $server; wait $server || true
	restarts=$(awk '/^restarts/{print $2}' "$tmp/server.out")
	python3 - "$mode" "$restarts" "$tmp/tcp.json" "$tmp/udp.json" "$before" "$after" "${RPD_CHURN_WORKER_ARGS:-draining}" <<'PY'
import json, sys
mode, restarts, tcpf, udpf, before, after = sys.argv[1:7]
t = json.load(open(tcpf)); u = json.load(open(udpf))
b = dict(l.split() for l in before.splitlines() if l.strip())
a = dict(l.split() for l in after.splitlines() if l.strip())
restarts = int(restarts or 0)
tf = t["requests"] - t["ok"]; ul = u["requests"] - u["ok"]
delta = {k: int(a.get(k, 0)) - int(b.get(k, 0)) for k in a}
print(json.dumps({"mode": mode, "worker": sys.argv[7], "restarts": restarts,
  "tcp": {"requests": t["requests"], "failed": tf, "refused": t["refused"], "reset": t["reset"], "timeout": t["timeout"],
          "failed_per_million": round(tf * 1e6 / max(t["requests"], 1), 1),
          "failed_per_restart": round(tf / max(restarts, 1), 2), "rate_per_s": t["rate_per_s"],
          "p99_us": t["latency_us"]["p99"], "max_us": t["latency_us"]["max"]},
  "udp": {"requests": u["requests"], "lost": ul, "p99_us": u["latency_us"]["p99"], "max_us": u["latency_us"]["max"]},
  "nstat": delta}))
PY
	rm -rf "$tmp"
	exit 0
fi

echo "== churn: $WORKERS workers, ${SECS}s, TCP $TCP_RATE conn/s + UDP $UDP_RATE req/s (256 flows), a restart every ${RESTART_MS} ms"
for worker in "" "--stop-abrupt"; do
	for mode in plain plain+migrate reuseportd; do
		RPD_CHURN_WORKER_ARGS=$worker RPD_CHURN_MODE=$mode unshare -n bash "$0" "$@"
	done
done

#!/usr/bin/env bash
# setup.sh - installs what reuseportd needs on Debian 12 (or newer), builds it and, with
# --install (the default), installs the binaries into /usr/local/bin.
# Usage: sudo bash tools/setup.sh [--no-install] [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

install=1
if [ "${1:-}" = "--no-install" ]; then
	install=0
	shift
fi
build=${1:-build}

need_pkgs="build-essential cmake pkg-config clang llvm libclang-rt-14-dev libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev iproute2 valgrind"
missing=""
for p in $need_pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: missing packages:$missing; run as root (sudo bash tools/setup.sh)" >&2
		exit 1
	fi
	echo "setup.sh: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
if [ "$install" = 1 ]; then
	cmake --install "$build" --prefix /usr/local >/dev/null
	echo "setup.sh: installed reuseportd, reuseportctl, rpd-demo-worker and rpd-loadgen in /usr/local/bin"
fi

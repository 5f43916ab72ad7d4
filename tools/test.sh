#!/usr/bin/env bash
# test.sh - sets up and runs the whole suite: unit and integration tests on a normal build,
# the same under AddressSanitizer + UndefinedBehaviorSanitizer, and the daemon under valgrind.
# Needs root for the integration tests (network namespaces, BPF); with CI=true a skipped
# integration test is a failure.
# Usage: sudo bash tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --no-install build
bash tools/setup.sh --no-install build-asan >/dev/null
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRPD_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$(nproc)"

status=0
echo "== tests (RelWithDebInfo)"
ctest --test-dir build --output-on-failure -j2 || status=1
echo "== tests (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan --output-on-failure -j2 || status=1
exit $status
